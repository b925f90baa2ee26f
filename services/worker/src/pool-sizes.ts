// The worker's Postgres pool, one per process: infra/k8s sizes Postgres' max_connections from it.
export const WORKER_DB_POOL_SIZE = 4;
