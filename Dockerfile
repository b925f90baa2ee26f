# syntax=docker/dockerfile:1
# One image recipe for both services:
#   docker build --target api    -t coupons-api:dev .
#   docker build --target worker -t coupons-worker:dev .
# The services run their TypeScript through tsx (a runtime dependency): no build step, the same
# code the tests run. `pnpm deploy` copies one service with its production dependencies (and the
# @coupons/shared workspace package) into a self-contained folder, which is all the runtime
# stage gets: no pnpm, no dev dependencies, no sources of other packages.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV CI=true
RUN npm install -g pnpm@12.4.2 && pnpm --version
WORKDIR /repo
# The workspace manifests and lockfile first, so the dependency download is cached until they change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/shared/package.json packages/shared/
COPY services/api/package.json services/api/
COPY services/worker/package.json services/worker/
RUN pnpm fetch --prod
COPY packages/shared/ packages/shared/
COPY services/api/ services/api/
COPY services/worker/ services/worker/
# --prefer-offline, not --offline: pnpm 12's deploy resolves the deployed folder's own lockfile and
# needs the registry's package metadata, which `pnpm fetch` does not store (only the packages);
# what is cached is used, the rest fetched.
RUN pnpm --filter @coupons/api deploy --prod --prefer-offline /out/api
RUN pnpm --filter @coupons/worker deploy --prod --prefer-offline /out/worker

# What both services run on: the node user (uid 1000), read-only application files owned by root.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
USER node

FROM runtime AS api
COPY --from=build /out/api /app
ENV PORT=3000
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main.ts"]

FROM runtime AS worker
COPY --from=build /out/worker /app
CMD ["node", "--import", "tsx", "src/main.ts"]
