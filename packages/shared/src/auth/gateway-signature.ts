// The gateway's proof that it set X-User-Id (AUTH_MODE=gateway): one codec, used by the API to
// check it and by the harness to send it, so the two can never disagree on the format.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers a gateway sends in AUTH_MODE=gateway (lower case, as Node reads them). */
export const GATEWAY_HEADERS = {
  userId: 'x-user-id',
  /** Unix time in whole seconds when the gateway signed. */
  timestamp: 'x-gateway-timestamp',
  /** Lower-case hex HMAC-SHA256, with AUTH_GATEWAY_SECRET, of `<timestamp>.<X-User-Id as sent>`. */
  signature: 'x-gateway-signature',
} as const;

/** The signature of `userId` at `timestampSeconds`: hex HMAC-SHA256 of `<timestamp>.<user id>`. */
export function gatewaySignature(secret: string, userId: string, timestampSeconds: number | string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${userId}`).digest('hex');
}

/** The three headers a gateway adds for `userId`, signed now. */
export function gatewayHeaders(secret: string, userId: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    [GATEWAY_HEADERS.userId]: userId,
    [GATEWAY_HEADERS.timestamp]: String(timestamp),
    [GATEWAY_HEADERS.signature]: gatewaySignature(secret, userId, timestamp),
  };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const WHOLE_SECONDS = /^\d{1,12}$/;

/**
 * Whether `signature` proves `userId` at `timestamp`, within `maxSkewSeconds` of now (either way:
 * clocks differ). The comparison takes the same time whatever the bytes, so the time an answer
 * takes tells nothing about how close a forged signature came.
 */
export function verifyGatewaySignature(
  secret: string,
  userId: string,
  timestamp: string | undefined,
  signature: string | undefined,
  maxSkewSeconds: number,
  nowMs = Date.now(),
): boolean {
  if (timestamp === undefined || signature === undefined || !WHOLE_SECONDS.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > maxSkewSeconds) return false;
  const given = signature.trim().toLowerCase();
  if (!HEX_SHA256.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(gatewaySignature(secret, userId, timestamp), 'hex'));
}
