import type { RedisClient } from '@coupons/shared/redis';
import { replicaSnapshotSchema, type ReplicaSnapshot } from './replica-snapshot.ts';
import { statsKeys } from './stats-keys.ts';

/**
 * The snapshots of the live replicas: the registry's members, then their snapshots in one MGET
 * (one slot: stats-keys.ts). A replica whose snapshot has expired is dead or cut off and is left
 * out; so is a snapshot this version cannot read (a newer replica during a rollout).
 */
export async function readSnapshots(redis: RedisClient, prefix: string): Promise<ReplicaSnapshot[]> {
  const keys = statsKeys(prefix);
  const replicas = await redis.zrange(keys.replicas, 0, -1);
  if (replicas.length === 0) return [];
  const values = await redis.mget(...replicas.map((id) => keys.snapshot(id)));
  return values.flatMap((value) => {
    if (value === null) return [];
    try {
      const parsed = replicaSnapshotSchema.safeParse(JSON.parse(value));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
