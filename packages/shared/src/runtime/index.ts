export { createLogger, type Logger } from './logger.ts';
export { StartupError, redisStartupError, postgresStartupError, describeStartupError } from './startup-error.ts';
export { runMain, onShutdownSignal } from './run-main.ts';
export { connectRedis, createRedis, duplicateRedis, checkPostgres, redisTarget, redisOptionsFor, clusterOptionsFor, reconnectOnReadonly, type RedisTarget, type OneServerTarget } from './connect.ts';
export { markDependencyError, failedDependency, DependencyError, type Dependency } from './dependency-origin.ts';
