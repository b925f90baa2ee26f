export { SERVICE_ENTRY, type ServiceKind } from './entry-points.ts';
export { spawnService, type ServiceProcess, type ServiceExit, type SpawnOptions } from './spawn-service.ts';
export { startApi, startWorker, apiReady, workerReady, waitUntilReady, listeningPort, listeningPorts, workerStarted, type ApiUrls, type ReadyOptions } from './readiness.ts';
