import { describe, expect, it } from 'vitest';
import { parseAdmissionReply } from '../src/domain/index.ts';

describe('parseAdmissionReply', () => {
  it.each([
    [1, 'admitted'],
    [2, 'existing'],
    [-1, 'sold_out'],
    [-2, 'overloaded'],
  ] as const)('maps code %i to %s', (code, outcome) => {
    expect(parseAdmissionReply([code, 'ticket-1', 'queued', 4, 9])).toEqual({
      outcome,
      ticketId: 'ticket-1',
      status: 'queued',
      position: 4,
      seq: 9,
    });
  });

  it.each([0, 3, -3])('throws on the unknown code %i, naming it', (code) => {
    expect(() => parseAdmissionReply([code, '', '', -1, 0])).toThrow(new RegExp(`unknown code ${code}\\b`));
  });
});
