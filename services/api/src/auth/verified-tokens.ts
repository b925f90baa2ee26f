// Tokens already verified, so a client that polls its ticket ten times pays for one signature
// check. Keyed by the whole token string: only the very same bytes hit, and a hit is as good as
// the verification it remembers for as long as the entry lives.

interface Entry {
  userId: string;
  /** Epoch ms after which the entry is not used: the token's exp, at most `ttlMs` after it was verified. */
  until: number;
}

/** A bounded LRU of verified tokens → user id (a Map keeps insertion order: the first key is the oldest). */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 60_000,
  ) {}

  get(token: string, now = Date.now()): string | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.until <= now) return undefined;
    this.entries.set(token, entry);
    return entry.userId;
  }

  /** Remembers `token` as `userId` until `expiresAtMs` (its exp) or `ttlMs` from now, whichever is first. */
  set(token: string, userId: string, expiresAtMs: number, now = Date.now()): void {
    const until = Math.min(expiresAtMs, now + this.ttlMs);
    if (until <= now || this.maxEntries === 0) return;
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { userId, until });
  }

  get size(): number {
    return this.entries.size;
  }
}
