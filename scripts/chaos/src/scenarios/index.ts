// Every scenario, in the order a run takes them.
import type { Scenario } from '../scenario.ts';
import { allWorkersKilled } from './all-workers-killed.ts';
import { clusterFailoverAsync, clusterFailoverDurable } from './cluster-failover.ts';
import { aofCost } from './aof-cost.ts';
import { fastPathKeysDeleted, redisFlushed } from './fast-path-loss.ts';
import { maxMemory } from './max-memory.ts';
import { overload } from './overload.ts';
import { pausedLockHolder } from './paused-lock-holder.ts';
import { postgresRestartFast, postgresRestartImmediate } from './postgres-restart.ts';
import { redisRestartKill, redisRestartTerm } from './redis-restart.ts';
import { sentinelFailoverAsync, sentinelFailoverDurable } from './sentinel-failover.ts';
import { snapshotRestore } from './snapshot-restore.ts';
import { workerKilledMidBatch } from './worker-killed.ts';

export const SCENARIOS: readonly Scenario[] = [
  aofCost,
  workerKilledMidBatch,
  allWorkersKilled,
  redisRestartTerm,
  redisRestartKill,
  postgresRestartFast,
  postgresRestartImmediate,
  pausedLockHolder,
  fastPathKeysDeleted,
  redisFlushed,
  overload,
  snapshotRestore,
  sentinelFailoverAsync,
  sentinelFailoverDurable,
  maxMemory,
  clusterFailoverAsync,
  clusterFailoverDurable,
];
