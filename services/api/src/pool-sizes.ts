// The API's Postgres pools, per process: infra/k8s sizes Postgres' max_connections from them.
export const API_DB_POOL_SIZE = 10;
/**
 * Readiness's own pool (GET /readyz): a full request pool must never make a healthy pod unready.
 * Two, so a probe whose query is still being cancelled does not hold up the next one.
 */
export const API_READINESS_DB_POOL_SIZE = 2;
