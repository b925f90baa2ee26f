import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Embedded Redis and Postgres when none is running and none is configured (a fresh machine).
    globalSetup: ['packages/local-servers/src/vitest-global-setup.ts'],
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'scripts/test/**/*.test.ts', 'scripts/*/test/**/*.test.ts', 'infra/k8s/test/**/*.test.ts'],
    // Every file has its own database and Redis prefix, so files may run side by side;
    // two at a time suits a 2-core machine running worker processes too.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
