import { describe, expect, it } from 'vitest';
import { decodeDecidedBatch, encodeDecidedBatch, ticketEventsChannel, type DecidedBatch } from '../src/redis/ticket-events.ts';

describe('ticket events: the decided-batch message', () => {
  const batch: DecidedBatch = {
    couponCode: 'C0001',
    decidedSeq: '12345678901234567890',
    committedAtMs: 1_765_000_000_123,
    tickets: [
      { ticketId: 'a', status: 'issued', issuedAtMs: 1_765_000_000_100 },
      { ticketId: 'b', status: 'rejected', reason: 'SOLD_OUT' },
      { ticketId: 'c', status: 'rejected' },
    ],
  };

  it('decodes what it encodes (a decided mark beyond 2^53 kept as text, a rejection without reason kept without one)', () => {
    expect(decodeDecidedBatch(encodeDecidedBatch(batch))).toEqual(batch);
  });

  it('ignores what is not a decided batch: not JSON, another version, a bad outcome', () => {
    expect(decodeDecidedBatch('not json')).toBeUndefined();
    expect(decodeDecidedBatch(encodeDecidedBatch(batch).replace('"v":1', '"v":2'))).toBeUndefined();
    expect(decodeDecidedBatch(JSON.stringify({ v: 1, coupon: 'C0001', decidedSeq: '1', committedAt: 1, tickets: [['a', 'x', 1]] }))).toBeUndefined();
    expect(decodeDecidedBatch(JSON.stringify({ v: 1, coupon: 'C0001', decidedSeq: '1', committedAt: 1, tickets: [['a', 'r', 'MAYBE']] }))).toBeUndefined();
  });

  it('has one channel per deployment prefix', () => {
    expect(ticketEventsChannel('coupons')).toBe('coupons:ticket-events');
    expect(ticketEventsChannel('other')).not.toBe(ticketEventsChannel('coupons'));
  });
});
