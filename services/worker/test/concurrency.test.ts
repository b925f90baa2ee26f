import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 50;
const USERS = 2_000;

describe('three workers, thousands of users, duplicate storms, a small limit', () => {
  let event: LocalEvent;
  beforeAll(async () => {
    event = await startLocalEvent({ coupon: 'T0050', limit: LIMIT, workers: 3, env: { BATCH_SIZE: '40' } });
  });
  afterAll(() => event.stop());

  it('issues exactly the limit, once per user, first come first served, every ticket final', async () => {
    const users = distinctUsers(USERS);
    // Every fifth user hammers the button four times, interleaved with everyone else.
    const requests = users.flatMap((user, i) => (i % 5 === 0 ? [user, user, user, user] : [user]));
    const answered = await submitAll(event.baseUrl, 'T0050', requests, 48);

    expect(answered).toHaveLength(requests.length);
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
    expect(answered.every((a) => [200, 202].includes(a.status) || (a.status === 409 && a.code === 'SOLD_OUT'))).toBe(true);
    // One ticket per user, whatever the storm.
    const ticketsPerUser = new Map<string, Set<string>>();
    for (const a of answered.filter((a) => a.ticketId)) {
      ticketsPerUser.set(a.userId, (ticketsPerUser.get(a.userId) ?? new Set()).add(a.ticketId!));
    }
    expect([...ticketsPerUser.values()].every((tickets) => tickets.size === 1)).toBe(true);
    expect(answered.filter((a) => a.status === 202).length).toBe(ticketsPerUser.size);

    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(await verifyEvent(event, 'T0050', answered, finalStatus)).toEqual(exactEvent(LIMIT));
    expect([...finalStatus.values()].filter((s) => s === 'issued')).toHaveLength(LIMIT);

    // Once sold out, a newcomer is told so at once, and it is true.
    const late = await submitAll(event.baseUrl, 'T0050', distinctUsers(5), 5);
    expect(late.map((a) => [a.status, a.code])).toEqual(Array(5).fill([409, 'SOLD_OUT']));
  });
});
