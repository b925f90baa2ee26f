// AUTH_MODE=gateway: X-User-Id counts only with proof that the gateway set it: an HMAC over the
// user id and a timestamp (AUTH_GATEWAY_SECRET, shared with the gateway), or a request whose TCP
// peer is a trusted proxy (AUTH_TRUSTED_PROXIES). The peer is req.socket.remoteAddress, never
// X-Forwarded-For: a header is what a client can write, the TCP peer is not.
import { BlockList, isIP } from 'node:net';
import type { Request } from 'express';
import type { Config } from '@coupons/shared/config';
import { GATEWAY_HEADERS, verifyGatewaySignature } from '@coupons/shared/auth';
import { HttpError } from '../errors/http-error.ts';
import { parseUserIdHeader, userIdHeader } from './trusted-header.ts';
import type { Identify } from './identify.ts';

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) is 10.1.2.3. */
const unmapped = (address: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address);

/** AUTH_TRUSTED_PROXIES as a BlockList (here: a list of allowed peers). */
export function trustedPeers(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(unmapped(address), family);
    else list.addSubnet(unmapped(address), Number(prefix), family);
  }
  return list;
}

export function gatewayIdentify(config: Config): Identify {
  const secret = config.AUTH_GATEWAY_SECRET;
  const peers = config.AUTH_TRUSTED_PROXIES ? trustedPeers(config.AUTH_TRUSTED_PROXIES) : undefined;
  const maxSkew = config.AUTH_GATEWAY_MAX_SKEW_SECONDS;

  const fromTrustedPeer = (req: Request) => {
    const peer = req.socket.remoteAddress;
    if (!peers || !peer) return false;
    const address = unmapped(peer);
    return peers.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  };
  const signedByGateway = (req: Request, userId: string) =>
    secret !== undefined && verifyGatewaySignature(secret, userId, req.get(GATEWAY_HEADERS.timestamp)?.trim(), req.get(GATEWAY_HEADERS.signature), maxSkew);

  return (req) => {
    const raw = userIdHeader(req);
    // Which check failed is not said: 401 UNVERIFIED_USER_ID for all of them.
    if (!fromTrustedPeer(req) && !signedByGateway(req, raw)) throw new HttpError('UNVERIFIED_USER_ID');
    return parseUserIdHeader(raw);
  };
}
