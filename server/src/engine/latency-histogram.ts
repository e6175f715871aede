/**
 * SMTP latency as a fixed log-scale histogram: counts per bucket add up across hours, servers and
 * processes (a plain SQL `+`), and p50/p95 are estimated from the summed counts the way
 * Prometheus' histogram_quantile does (linear within the bucket holding the rank).
 *
 * The bounds rise by about 1.5x a step from 1 ms to 2 min, so an estimate is off by at most the
 * width of one bucket (about a third of the value). The last bucket holds everything above 2 min.
 */

/** Upper bounds (inclusive, ms) of every bucket but the last, which is unbounded. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 7000, 10_000,
  15_000, 20_000, 30_000, 60_000, 120_000,
];

/** Buckets, counting the unbounded last one. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** The bucket a latency falls in: the first whose upper bound is >= it. */
export const latencyBucketOf = (latencyMs: number): number => {
  if (!Number.isFinite(latencyMs) || latencyMs <= LATENCY_BOUNDS_MS[0]!) return 0;
  let low = 0;
  let high = LATENCY_BOUNDS_MS.length; // the unbounded bucket
  while (low < high) {
    const middle = (low + high) >> 1;
    if (latencyMs <= LATENCY_BOUNDS_MS[middle]!) high = middle;
    else low = middle + 1;
  }
  return low;
};

export const emptyHistogram = (): number[] => new Array<number>(LATENCY_BUCKETS).fill(0);

/** Adds `from` into `into`, bucket by bucket. */
export const addHistogram = (into: number[], from: ArrayLike<number>): number[] => {
  for (let index = 0; index < LATENCY_BUCKETS; index += 1) into[index] = (into[index] ?? 0) + Number(from[index] ?? 0);
  return into;
};

/** The [lower, upper] span of a bucket in ms; the last bucket's upper is its lower (nothing is known above it). */
export const bucketSpan = (index: number): [number, number] => {
  const lower = index === 0 ? 0 : LATENCY_BOUNDS_MS[index - 1]!;
  const upper = index < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[index]! : lower;
  return [lower, upper];
};

/**
 * The q-quantile (0 < q <= 1) in ms, or null for an empty histogram: the rank q x total is found
 * in its bucket and placed linearly between the bucket's bounds. Rounded to 0.1 ms.
 */
export const latencyQuantile = (histogram: ArrayLike<number>, q: number): number | null => {
  let total = 0;
  for (let index = 0; index < LATENCY_BUCKETS; index += 1) total += Number(histogram[index] ?? 0);
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let index = 0; index < LATENCY_BUCKETS; index += 1) {
    const count = Number(histogram[index] ?? 0);
    if (count > 0 && below + count >= rank) {
      const [lower, upper] = bucketSpan(index);
      const value = lower + ((upper - lower) * (rank - below)) / count;
      return Math.round(value * 10) / 10;
    }
    below += count;
  }
  return bucketSpan(LATENCY_BUCKETS - 1)[0];
};
