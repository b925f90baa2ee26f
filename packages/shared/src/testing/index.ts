export { createTestEnvironment, type TestEnvironment } from './test-environment.ts';
export { waitFor } from './wait-for.ts';
export { spawnService, type ServiceProcess } from './spawn-service.ts';
