/** Timing samples and their order statistics. */

export interface Stats {
  n: number;
  median: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

/** Milliseconds each call of `fn` took, after `warmup` untimed calls. */
export async function sample(fn: () => Promise<unknown>, iterations: number, warmup = Math.min(5, iterations)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Samples two competitors interleaved (A, B, A, B, …) so that a slow patch of the machine — another process, a
 * GC, thermal throttling — lands on both sides of a ratio rather than on one.
 */
export async function samplePair(a: () => Promise<unknown>, b: () => Promise<unknown>, iterations: number, warmup = 5): Promise<[number[], number[]]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let t = performance.now();
    await a();
    sa.push(performance.now() - t);
    t = performance.now();
    await b();
    sb.push(performance.now() - t);
  }
  return [sa, sb];
}

/**
 * The median of the ratios of paired samples (a[i] ÷ b[i], each pair measured back to back). On a shared machine
 * load comes and goes; a pair sees about the same load on both sides, so this ratio moves much less than the ratio
 * of the two medians.
 */
export function pairedRatio(a: number[], b: number[]): number {
  return stats(a.map((x, i) => x / b[i]!)).median;
}
