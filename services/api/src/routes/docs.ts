import { createRequire } from 'node:module';
import type { RequestHandler, Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { apiRouter } from '../http/api-router.ts';
import { buildOpenApiDocument } from '../openapi/openapi-document.ts';

/**
 * The files the Swagger UI page loads, and nothing else of swagger-ui-dist: its README, its
 * petstore index.html and its source maps are not ours to serve.
 */
const UI_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png'] as const;

/** swagger-ui-dist's folder, found through swagger-ui-express (whose dependency it is). */
function swaggerUiDistDir(): string {
  const fromExpressUi = createRequire(createRequire(import.meta.url).resolve('swagger-ui-express'));
  return (fromExpressUi('swagger-ui-dist/absolute-path') as () => string)();
}

/** GET (and HEAD) only: the UI at /docs/, its init script and assets, and the OpenAPI document. */
export function docsRouter(): Router {
  const document = buildOpenApiDocument();
  const router = apiRouter();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  const page = swaggerUi.setup(document); // also renders the init script served below
  const [initScript] = swaggerUi.serve as RequestHandler[];
  router.get('/docs', (_req, res) => res.redirect(301, '/docs/'));
  router.get('/docs/', page);
  router.get('/docs/swagger-ui-init.js', initScript!);
  const dist = swaggerUiDistDir();
  for (const asset of UI_ASSETS) {
    // `root`: the dot-folders of the install path (node_modules/.pnpm) are ours, not the request's.
    router.get(`/docs/${asset}`, (_req, res) => res.sendFile(asset, { root: dist, maxAge: '1h' }));
  }
  return router;
}
