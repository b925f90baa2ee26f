export { createTestEnvironment, testDatabaseUrl, testRedisUrl, type TestEnvironment } from './test-environment.ts';
export { waitFor } from './wait-for.ts';
export { freePort } from '@coupons/local-servers';
export { startRedisServer, type RedisServer, type RedisServerOptions, type AppendFsync } from './redis-server.ts';
export { startPostgresServer, type PostgresServer } from './postgres-server.ts';
export { startSentinelTopology, type SentinelTopology, type SentinelTopologyOptions } from './sentinel-topology.ts';
export { exhaustMemory, requireReplicas, blockWithScript, demoteToReplica, type Refusal } from './redis-refusals.ts';
export { openUntouchedCoupon, WHOLE_RUN_STATE } from './open-fast-path.ts';
export { startRedisCluster, type RedisClusterTopology, type RedisClusterOptions, type ClusterNodeRole } from './redis-cluster.ts';
