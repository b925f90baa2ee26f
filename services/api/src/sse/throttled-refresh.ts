/**
 * Runs `refresh(key)` at most once per `intervalMs` per key, never two at once for one key, and
 * never drops a request: one asked for while a run is in flight or too soon after the last one
 * runs once the interval allows (trailing). A run that fails is retried after the interval.
 *
 * The hub refreshes a coupon's streams through it: however many batches a worker decides per
 * second, each coupon costs one pipelined read per second.
 */
export class ThrottledRefresh {
  private readonly lastRun = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly refresh: (key: string) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  request(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.timers.has(key)) return;
    const wait = (this.lastRun.get(key) ?? 0) + this.intervalMs - Date.now();
    if (wait <= 0) {
      void this.run(key);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.run(key);
    }, wait);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Forgets a key nobody needs any more (its last stream closed). */
  forget(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.again.delete(key);
    this.lastRun.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async run(key: string): Promise<void> {
    if (this.stopped) return;
    this.running.add(key);
    this.lastRun.set(key, Date.now());
    let failed = false;
    try {
      await this.refresh(key);
    } catch (error) {
      failed = true;
      this.onError(key, error);
    } finally {
      this.running.delete(key);
    }
    if (failed || this.again.delete(key)) this.request(key);
  }
}
