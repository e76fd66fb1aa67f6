// Small measuring helpers: percentiles, medians, and the memory peak of each bench stage.

export interface Percentiles {
  samples: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Nearest-rank percentiles (no interpolation), rounded to whole milliseconds. */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    if (sorted.length === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * sorted.length));
    return Math.round(sorted[rank - 1] ?? 0);
  };
  return {
    samples: sorted.length,
    p50_ms: at(0.5),
    p95_ms: at(0.95),
    p99_ms: at(0.99),
    max_ms: Math.round(sorted.at(-1) ?? 0),
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function sum(values: Iterable<number>): number {
  let t = 0;
  for (const v of values) t += v;
  return t;
}

export const round = (n: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

export interface StageMemory {
  duration_s: number;
  rss_peak_mb: number;
  heap_used_peak_mb: number;
}

/**
 * Samples `process.memoryUsage()` every `everyMs` while a stage runs and keeps the stage's peaks.
 * Everything here (sandboxes, dynalite, fauxqs, handlers) shares one process, so RSS is the whole
 * embedded stack; it rarely shrinks, so a later stage's peak includes what earlier ones kept.
 */
export class MemoryStages {
  readonly stages: Record<string, StageMemory> = {};
  private current: { name: string; started: number; rss: number; heap: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 50) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    if (this.current === undefined) return;
    const m = process.memoryUsage();
    this.current.rss = Math.max(this.current.rss, m.rss);
    this.current.heap = Math.max(this.current.heap, m.heapUsed);
  }

  async stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.current !== undefined) throw new Error(`stage ${name} started inside ${this.current.name}`);
    this.current = { name, started: performance.now(), rss: 0, heap: 0 };
    this.sample();
    try {
      return await fn();
    } finally {
      this.sample();
      const c = this.current;
      this.current = undefined;
      this.stages[name] = {
        duration_s: round((performance.now() - c.started) / 1000, 2),
        rss_peak_mb: Math.round(c.rss / 1e6),
        heap_used_peak_mb: Math.round(c.heap / 1e6),
      };
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** A seeded source of exponential inter-arrival gaps (a Poisson stream of edits at `ratePerS`). */
export function exponentialGaps(rand: () => number, ratePerS: number): () => number {
  return () => (-Math.log(1 - rand()) / ratePerS) * 1000;
}
