/**
 * The batch size of one coupon's drain: `BATCH_SIZE`, halved each time a batch hits the
 * statement timeout (so a batch that is too big for a slow Postgres is retried smaller, never
 * identically forever), and doubled back after a run of successes.
 */
export class AdaptiveBatchSize {
  private size: number;
  private successes = 0;

  constructor(
    private readonly max: number,
    private readonly successesBeforeGrowing = 8,
  ) {
    this.size = max;
  }

  get current(): number {
    return this.size;
  }

  timedOut(): void {
    this.size = Math.max(1, Math.floor(this.size / 2));
    this.successes = 0;
  }

  succeeded(): void {
    if (this.size === this.max) return;
    this.successes += 1;
    if (this.successes >= this.successesBeforeGrowing) {
      this.size = Math.min(this.max, this.size * 2);
      this.successes = 0;
    }
  }
}

/** pg's SQLSTATE for a statement cancelled by statement_timeout. */
export function isStatementTimeout(error: unknown): boolean {
  return (error as { code?: unknown })?.code === '57014';
}
