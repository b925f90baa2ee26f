export { createLogger, type Logger } from './logger.ts';
export { StartupError, redisStartupError, postgresStartupError, describeStartupError } from './startup-error.ts';
export { runMain, onShutdownSignal } from './run-main.ts';
export { connectRedis, createRedis, checkPostgres, redisTarget, redisOptionsFor, reconnectOnReadonly, type RedisTarget } from './connect.ts';
export { markDependencyError, failedDependency, DependencyError, type Dependency } from './dependency-origin.ts';
