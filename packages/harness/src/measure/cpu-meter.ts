// CPU seconds spent by each process of a run, between start() and stop(): the API and worker
// processes and the load generator (from /proc, or process.cpuUsage() for this one), Redis (its
// own INFO cpu and commandstats, so it works for any Redis we can reach), and Postgres's backends
// (the server processes serving the run's database, from /proc). CPU accounting is far steadier
// than throughput on a shared machine, which is why the bench judges changes by it.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { sql, type Kysely } from 'kysely';
import { forEachPrimary, type RedisClient } from '@coupons/shared/redis';
import { parseRedisInfo } from '@coupons/shared/redis';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of one process so far (0 if it is gone or /proc is not there). */
export function processCpuSeconds(pid: number): number {
  try {
    // The command name (field 2) may hold spaces: the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks(); // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}


/**
 * Redis's own CPU seconds (main thread and I/O threads) and microseconds spent per command family;
 * on a Redis Cluster summed over every primary (INFO names no key: each primary is asked).
 */
export async function redisCpu(redis: RedisClient): Promise<{ seconds: number; usecByFamily: Record<string, number>; callsByFamily: Record<string, number> }> {
  const perPrimary = await forEachPrimary(redis, async (node) => ({ cpu: parseRedisInfo(await node.info('cpu')), stats: parseRedisInfo(await node.info('commandstats')) }));
  const usecByFamily: Record<string, number> = {};
  const callsByFamily: Record<string, number> = {};
  let seconds = 0;
  for (const { cpu, stats } of perPrimary) {
    seconds += Number(cpu.used_cpu_sys ?? 0) + Number(cpu.used_cpu_user ?? 0);
    addCommandStats(stats, usecByFamily, callsByFamily);
  }
  return { seconds, usecByFamily, callsByFamily };
}

function addCommandStats(stats: Record<string, string>, usecByFamily: Record<string, number>, callsByFamily: Record<string, number>): void {
  for (const [key, value] of Object.entries(stats)) {
    const command = key.replace(/^cmdstat_/, '');
    const family = commandFamily(command);
    const usec = Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
    const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    usecByFamily[family] = (usecByFamily[family] ?? 0) + usec;
    callsByFamily[family] = (callsByFamily[family] ?? 0) + calls;
  }
}

/** Scripts (BullMQ's and ours), blocking pops (workers waiting), reads, writes, the rest. */
export function commandFamily(command: string): string {
  if (/^(evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro)$/.test(command)) return 'scripts';
  if (/^(bzpopmin|bzpopmax|brpoplpush|blmove|brpop|blpop|xread|xreadgroup)$/.test(command)) return 'blocking';
  if (/^(get|mget|hget|hmget|hgetall|zscore|zcard|zrange|zrangebyscore|exists|ttl|pttl|scan|type|llen|xlen|smembers|sismember)$/.test(command)) return 'reads';
  if (/^(set|del|unlink|hset|hdel|zadd|zrem|incr|incrby|expire|pexpire|lpush|rpush|xadd|xtrim|sadd|srem)/.test(command)) return 'writes';
  if (/^(info|ping|client|config|hello|select|auth|script|memory|wait)/.test(command)) return 'admin';
  return 'other';
}

/** The pids of the Postgres backends serving `db`'s database right now. */
async function postgresBackendPids(db: Kysely<any>): Promise<number[]> {
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db);
  return rows.map((row) => row.pid);
}

export interface CpuSources {
  /** Processes of the run, by name (api-1, worker-1, ...). */
  processes: Record<string, number>;
  redis?: RedisClient;
  /** The run's database: its backends are measured (a backend that ended mid-run is not counted). */
  db?: Kysely<any>;
}

export interface CpuReport {
  /** CPU seconds by process name, plus `redis`, `postgres` and `load generator` when measured. */
  seconds: Record<string, number>;
  /** Redis microseconds by command family (commandstats), and calls. */
  redisUsecByFamily: Record<string, number>;
  redisCallsByFamily: Record<string, number>;
  wallSeconds: number;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before[key] ?? 0)]));

export interface CpuMeter {
  stop(): Promise<CpuReport>;
}

export async function startCpuMeter(sources: CpuSources): Promise<CpuMeter> {
  const started = performance.now();
  const processesAt = () => Object.fromEntries(Object.entries(sources.processes).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  const selfAt = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  const backendsAt = async (pids: number[]) => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const before = {
    processes: processesAt(),
    self: selfAt(),
    redis: sources.redis ? await redisCpu(sources.redis) : undefined,
    backends: sources.db ? await postgresBackendPids(sources.db) : [],
  };
  const backendsBefore = new Map(before.backends.map((pid) => [pid, processCpuSeconds(pid)]));
  return {
    async stop() {
      const seconds: Record<string, number> = diff(processesAt(), before.processes);
      seconds['load generator'] = selfAt() - before.self;
      let redisUsecByFamily: Record<string, number> = {};
      let redisCallsByFamily: Record<string, number> = {};
      if (sources.redis && before.redis) {
        const after = await redisCpu(sources.redis);
        seconds.redis = after.seconds - before.redis.seconds;
        redisUsecByFamily = diff(after.usecByFamily, before.redis.usecByFamily);
        redisCallsByFamily = diff(after.callsByFamily, before.redis.callsByFamily);
      }
      if (sources.db) {
        // Backends that existed at the start count from there; new ones (a pool that grew) from zero.
        const pids = await postgresBackendPids(sources.db);
        seconds.postgres = (await backendsAt(pids)) - pids.reduce((sum, pid) => sum + (backendsBefore.get(pid) ?? 0), 0);
      }
      return { seconds, redisUsecByFamily, redisCallsByFamily, wallSeconds: (performance.now() - started) / 1000 };
    },
  };
}

/** Microseconds of CPU per unit (an admitted ticket, a request), by process. */
export function cpuPer(report: CpuReport, units: number): Record<string, number> {
  return Object.fromEntries(Object.entries(report.seconds).map(([name, seconds]) => [name, units > 0 ? (seconds * 1e6) / units : 0]));
}

/** The same, summed by role: api-1 + api-2 → api, worker-1 + … → worker. */
export function cpuPerRole(report: CpuReport, units: number): Record<string, number> {
  const roles: Record<string, number> = {};
  for (const [name, value] of Object.entries(cpuPer(report, units))) {
    const role = name.replace(/-\d+$/, '');
    roles[role] = (roles[role] ?? 0) + value;
  }
  return roles;
}
