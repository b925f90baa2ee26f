import { describe, expect, it } from 'vitest';
import { parseAdmissionReply } from '../src/domain/index.ts';

describe('parseAdmissionReply', () => {
  it.each([
    [1, 'admitted'],
    [2, 'existing'],
    [3, 'expired'],
    [-1, 'sold_out'],
    [-2, 'overloaded'],
    [-3, 'not_ready'],
    [-4, 'not_open'],
  ] as const)('maps code %i to %s', (code, outcome) => {
    expect(parseAdmissionReply([code, 'ticket-1', 'queued', 4, 9, 1_700_000_000_000])).toEqual({
      outcome,
      ticketId: 'ticket-1',
      status: 'queued',
      position: 4,
      seq: 9,
      now: 1_700_000_000_000,
    });
  });

  it.each([0, 4, -6])('throws on the unknown code %i, naming it', (code) => {
    expect(() => parseAdmissionReply([code, '', '', -1, 0, 0])).toThrow(new RegExp(`unknown code ${code}\\b`));
  });
});
