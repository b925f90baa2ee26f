// The load generator's own memory through a run: a million recorded requests are a million
// objects (measured: the million-user run peaked at 2.4 GiB of heap, 2.6 GiB RSS — under the
// default ~4 GiB heap limit, so the harness keeps its plain records rather than a columnar form).
// Sampled so the report shows it.
import { getHeapStatistics } from 'node:v8';

export interface GeneratorMemory {
  /** Largest heapUsed and RSS seen (sampled every half second), bytes. */
  peakHeapBytes: number;
  peakRssBytes: number;
  /** V8's heap limit for this process, bytes. */
  heapLimitBytes: number;
}

export function sampleGeneratorMemory(intervalMs = 500): { stop(): GeneratorMemory } {
  let peakHeapBytes = 0;
  let peakRssBytes = 0;
  const sample = () => {
    const { heapUsed, rss } = process.memoryUsage();
    peakHeapBytes = Math.max(peakHeapBytes, heapUsed);
    peakRssBytes = Math.max(peakRssBytes, rss);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakHeapBytes, peakRssBytes, heapLimitBytes: getHeapStatistics().heap_size_limit };
    },
  };
}
