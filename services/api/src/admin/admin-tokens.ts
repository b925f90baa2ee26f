// The operators' secrets (ADMIN_TOKEN, issue 13): which one a presented bearer token is, compared
// in constant time. Only a non-secret id of the token ever leaves this file (audit rows, logs).
import { createHash, timingSafeEqual } from 'node:crypto';

/** Who made an admin call: the id of the token it carried, never the token. */
export interface AdminIdentity {
  /** `sha256:` and the first 12 hex digits of the token's SHA-256: tells rotated tokens apart in the audit log. */
  tokenId: string;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The id an audit row names a token by (exported for tests and the docs). */
export function adminTokenId(token: string): string {
  return `sha256:${sha256(token).toString('hex').slice(0, 12)}`;
}

interface KnownToken {
  digest: Buffer;
  identity: AdminIdentity;
}

/**
 * The configured admin tokens (several during a rotation). `verify` hashes the presented token and
 * compares its digest with every configured one, all of them every time, with `timingSafeEqual`
 * over equal-length digests: neither the answer's timing nor an early exit tells how much of a
 * guess was right, nor which of the tokens it came near.
 */
export class AdminTokens {
  readonly #known: readonly KnownToken[];

  constructor(tokens: readonly string[]) {
    this.#known = tokens.map((token) => ({ digest: sha256(token), identity: Object.freeze({ tokenId: adminTokenId(token) }) }));
  }

  /** False when no ADMIN_TOKEN is configured: the admin routes are then not served at all. */
  get enabled(): boolean {
    return this.#known.length > 0;
  }

  /** The identity of the configured token equal to `presented`, or undefined. */
  verify(presented: string): AdminIdentity | undefined {
    const digest = sha256(presented);
    let match: AdminIdentity | undefined;
    for (const known of this.#known) {
      // No short cut: every configured token is compared, whether or not one matched already.
      if (timingSafeEqual(digest, known.digest)) match ??= known.identity;
    }
    return match;
  }
}
