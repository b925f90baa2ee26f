// The API's Postgres pool, one per process: infra/k8s sizes Postgres' max_connections from it.
export const API_DB_POOL_SIZE = 10;
