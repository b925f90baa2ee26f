export { ADMIN_TOKEN_MIN_LENGTH, configFields, configSchema, parseAdminTokens, type Config } from './config-schema.ts';
export { ConfigError, loadConfig } from './load-config.ts';
export { AUTH_MODES, JWT_ALGORITHMS, type AuthMode, type JwtAlgorithm } from './identity-config.ts';
