import { describe, expect, it } from 'vitest';
import { parseBurstArgs } from '../src/cli-args.ts';
import { classifyKey, formatCensus, memoryFigures, summariseCensus, TARGET_BYTES_PER_TICKET } from '../src/memory.ts';
import { formatMemory } from '../src/report.ts';

describe('memory figures', () => {
  it('names every kind of key the event leaves in Redis', () => {
    const p = 'tabc123';
    expect(classifyKey(`${p}:{A0001}:ticket:01a2-ffff`, p)).toBe('ticket hashes');
    expect(classifyKey(`${p}:{A0001}:users`, p)).toBe('dedupe (users hash)');
    expect(classifyKey(`${p}:{A0001}:pending`, p)).toBe('pending zset');
    for (const tail of ['seq', 'meta', 'fence', 'lock']) expect(classifyKey(`${p}:{A0001}:${tail}`, p)).toBe('coupon counters, mirror, lock');
    expect(classifyKey(`{${p}-queue}:issue-requests:01a233ee-a74a-7595-b92b-90c149ca2ffe`, p)).toBe('BullMQ job hashes');
    expect(classifyKey(`{${p}-queue}:issue-requests:heal-A0001`, p)).toBe('BullMQ job hashes');
    expect(classifyKey(`{${p}-queue}:issue-requests:01a233ee-a74a-7595-b92b-90c149ca2ffe:lock`, p)).toBe('BullMQ job locks, logs');
    expect(classifyKey(`{${p}-queue}:issue-requests:events`, p)).toBe('BullMQ events stream');
    for (const list of ['wait', 'active', 'completed', 'failed', 'delayed', 'marker', 'prioritized']) expect(classifyKey(`{${p}-queue}:issue-requests:${list}`, p)).toBe('BullMQ lists and sets');
    for (const other of ['meta', 'id', 'stalled-check']) expect(classifyKey(`{${p}-queue}:issue-requests:${other}`, p)).toBe('BullMQ bookkeeping');
    expect(classifyKey(`${p}:replica-ack`, p)).toBe('other');
    // Sharded queues (QUEUE_SHARDS > 1): {prefix-queue-N}.
    expect(classifyKey(`{${p}-queue-2}:issue-requests:01a233ee-a74a-7595-b92b-90c149ca2ffe`, p)).toBe('BullMQ job hashes');
    expect(classifyKey(`{${p}-queue-0}:issue-requests:events`, p)).toBe('BullMQ events stream');
    expect(classifyKey(`{${p}-queue-11}:issue-requests:wait`, p)).toBe('BullMQ lists and sets');
    expect(classifyKey(`{${p}x-queue-1}:issue-requests:wait`, p)).toBe('other');
  });

  it('folds keys into one row per kind, with bytes per element, largest first', () => {
    const rows = summariseCensus([
      { kind: 'ticket hashes', bytes: 200, entries: 1, key: 't:1' },
      { kind: 'ticket hashes', bytes: 220, entries: 1, key: 't:2' },
      { kind: 'dedupe (users hash)', bytes: 9_000, entries: 100 },
      { kind: 'BullMQ events stream', bytes: 0, entries: 0 },
    ]);
    expect(rows).toEqual([
      { kind: 'dedupe (users hash)', keys: 1, bytes: 9_000, entries: 100, bytesPerEntry: 90, sample: [] },
      { kind: 'ticket hashes', keys: 2, bytes: 420, entries: 2, bytesPerEntry: 210, sample: ['t:1', 't:2'] },
      { kind: 'BullMQ events stream', keys: 1, bytes: 0, entries: 0, bytesPerEntry: null, sample: [] },
    ]);
    expect(formatCensus(rows)).toBe('dedupe (users hash) 100 × 90 B = 8.8 KiB · ticket hashes 2 × 210 B = 420 B (t:1, t:2)');
  });

  it('divides the live bytes by admitted tickets and by users, and judges the 400-byte target', () => {
    expect(TARGET_BYTES_PER_TICKET).toBe(400);
    expect(memoryFigures(1_000_000, 5_000_000, 10_000, 19_000)).toEqual({ liveBytes: 4_000_000, bytesPerAdmittedTicket: 400, bytesPerUser: 211, targetMet: true });
    expect(memoryFigures(1_000_000, 5_010_000, 10_000, 19_000).targetMet).toBe(false);
    expect(memoryFigures(1_000, 900, 0, 0)).toEqual({ liveBytes: 0, bytesPerAdmittedTicket: null, bytesPerUser: null, targetMet: null });
  });

  it('prints the figures, the census and what is left after the retention', () => {
    const lines = formatMemory({
      redis: 'private',
      baselineBytes: 1_048_576,
      peakBytes: 5_242_880,
      atLastAdmissionBytes: 5_000_000,
      admitted: 10_000,
      users: 19_000,
      figures: memoryFigures(1_048_576, 5_242_880, 10_000, 19_000),
      targetBytesPerTicket: 400,
      censusAtLastAdmission: summariseCensus([{ kind: 'ticket hashes', bytes: 2_000_000, entries: 10_000 }]),
      retentionSeconds: 5,
      ticketTtlSeconds: 60,
      burstMs: 90_000,
      afterRetention: { what: 'every coupon state expired (EVENT_RETENTION_SECONDS)', reached: true, waitedMs: 6_000, usedBytes: 3_145_728, aboveBaselineBytes: 2_097_152, census: [] },
      afterTicketTtl: { what: 'every ticket hash expired (TICKET_TTL_SECONDS)', reached: false, waitedMs: 120_000, usedBytes: 1_100_000, aboveBaselineBytes: 51_424, census: [] },
    }).join('\n');
    expect(lines).toContain('1.00 MiB before the event, 5.00 MiB at the peak (+4.00 MiB)');
    expect(lines).toContain('419 B per admitted ticket (10,000 × 202; target ≤ 400 B: NOT met), 221 B per user asking (19,000)');
    expect(lines).toContain('ticket hashes 10,000 × 200 B = 1.91 MiB');
    expect(lines).toContain('after every coupon state expired (EVENT_RETENTION_SECONDS), 6.00 s later: 3.00 MiB (+2.00 MiB over the baseline)');
    expect(lines).toContain('after every ticket hash expired (TICKET_TTL_SECONDS) — NOT reached');
    expect(lines).toContain('! the burst lasted 90 s, longer than TICKET_TTL_SECONDS=60');
    expect(lines).toContain('! EVENT_RETENTION_SECONDS=5 is shorter than the burst (90 s)');
  });
});

describe('pnpm burst memory flags', () => {
  it('--memory: a private Redis and a short retention; --retention-seconds alone keeps the shared Redis', () => {
    expect(parseBurstArgs([])).toMatchObject({ privateRedis: false, memory: false, retentionSeconds: null });
    expect(parseBurstArgs(['--memory'])).toMatchObject({ privateRedis: true, memory: true, retentionSeconds: 5, ticketTtlSeconds: 60 });
    expect(parseBurstArgs(['--memory', '--ticket-ttl-seconds', '300'])).toMatchObject({ ticketTtlSeconds: 300 });
    expect(() => parseBurstArgs(['--ticket-ttl-seconds', '30'])).toThrow(/--ticket-ttl-seconds must be a whole number from 60/);
    expect(parseBurstArgs(['--memory', '--retention-seconds', '2'])).toMatchObject({ retentionSeconds: 2 });
    expect(parseBurstArgs(['--retention-seconds', '10'])).toMatchObject({ privateRedis: false, retentionSeconds: 10 });
    expect(parseBurstArgs(['--private-redis'])).toMatchObject({ privateRedis: true, memory: false });
  });

  it('refuses them with --url, and a retention that is not a whole number of seconds', () => {
    expect(() => parseBurstArgs(['--url', 'http://127.0.0.1:3000', '--memory'])).toThrow(/--memory configures the local cluster/);
    expect(() => parseBurstArgs(['--url', 'http://127.0.0.1:3000', '--private-redis'])).toThrow(/--private-redis configures the local cluster/);
    expect(() => parseBurstArgs(['--retention-seconds', '0'])).toThrow(/--retention-seconds must be a whole number from 1/);
  });
});
