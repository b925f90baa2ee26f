/**
 * The Redis keys of the figures every API replica publishes for the dashboard (stats/), built here
 * and nowhere else. They share the hash tag `{stats}`, so on a Redis Cluster they live in one slot:
 * the aggregator reads every replica's snapshot with one MGET.
 */
export interface StatsKeys {
  /** zset replicaId → the time (ms) of its last snapshot: the live replicas, read without KEYS or SCAN. */
  replicas: string;
  /** string (JSON, with a TTL): one replica's latest snapshot (replica-snapshot.ts). */
  snapshot(replicaId: string): string;
}

export function statsKeys(prefix: string): StatsKeys {
  const base = `${prefix}:{stats}`;
  return {
    replicas: `${base}:replicas`,
    snapshot: (replicaId) => `${base}:replica:${replicaId}`,
  };
}
