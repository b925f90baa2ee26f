// The order in which a load sends its requests: every user's first request, interleaved
// across coupons at random, with resubmissions (same user, same coupon) placed at random
// points after that user's first request — some land while the first is still in flight.
import { randomUUID } from 'node:crypto';

/** Distinct users asking for one coupon. */
export interface CouponDemand {
  code: string;
  users: number;
}

export interface PlannedRequest {
  userId: string;
  couponCode: string;
  resubmission: boolean;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `totalRequests` requests: one per distinct user of `demand`, the rest resubmissions. */
export function planRequests(demand: readonly CouponDemand[], totalRequests: number): PlannedRequest[] {
  const firsts = shuffle(
    demand.flatMap(({ code, users }) =>
      Array.from({ length: users }, (): PlannedRequest => ({ userId: randomUUID(), couponCode: code, resubmission: false })),
    ),
  );
  // Without resubmissions the shuffle is the order (a million users: no second array to sort).
  if (totalRequests <= firsts.length) return firsts;
  // Fractional slots: first requests at 0, 1, 2, ...; a resubmission strictly after its user's slot.
  const slotted = firsts.map((request, slot) => ({ request, slot }));
  for (let n = firsts.length; n < totalRequests; n++) {
    const first = Math.floor(Math.random() * firsts.length);
    const slot = first + 0.5 + Math.random() * (firsts.length - first);
    slotted.push({ request: { ...firsts[first]!, resubmission: true }, slot });
  }
  return slotted.sort((a, b) => a.slot - b.slot).map(({ request }) => request);
}

/** Distinct new users. */
export function distinctUsers(count: number): string[] {
  return Array.from({ length: count }, () => randomUUID());
}
