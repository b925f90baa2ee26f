/**
 * The coupon's mirror of Postgres as the worker compares it with Postgres's high-water mark.
 * Its layout, and what counts as missing or stale, live in lua/includes/coupon-mirror.lua (the
 * one place that writes it); TypeScript only ever sees it through a script's reply
 * (read-mirror-1.lua, or the head of read-batch-3.lua's), decoded here.
 */
export interface CouponMirror {
  /** 'missing': no mirror (lost, or expired after the event); 'stale': flagged for healing; 'ok'. */
  state: 'ok' | 'missing' | 'stale';
  issued: number;
  /** The highest arrival sequence the mirror knows decided (bigint: a string). */
  decidedSeq: string;
}

/**
 * An operator's run state as the mirror holds it (coupon.paused_at / closed_at in Postgres):
 * admission refuses `paused` (EVENT_PAUSED) and `closed` (EVENT_NOT_OPEN).
 */
export type RunState = 'active' | 'paused' | 'closed';

/** The run state of a coupon row: closed wins over paused (a close is final). */
export function runStateOf(coupon: { paused_at: Date | null; closed_at: Date | null }): RunState {
  return coupon.closed_at ? 'closed' : coupon.paused_at ? 'paused' : 'active';
}

/** Postgres's figures a heal copies into the mirror (copy-mirror-1.lua). */
export interface MirrorFigures {
  total: number;
  issued: number;
  /** coupon.decided_seq (bigint: pg hands it over as a string). */
  decidedSeq: number | string;
  /** The run state and its version (coupon.state_version): written only over an older version. */
  run: RunState;
  runVersion: number;
}

/** The mirror part of a script reply: `[state, decidedSeq, issued]`, as readMirror in coupon-mirror.lua returns it. */
export function decodeMirror([state, decidedSeq, issued]: readonly (string | undefined)[]): CouponMirror {
  return { state: state as CouponMirror['state'], decidedSeq: decidedSeq ?? '0', issued: Number(issued ?? 0) };
}
