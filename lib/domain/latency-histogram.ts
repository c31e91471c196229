/**
 * Fixed log-scale latency buckets, so percentiles cost a bounded number of Redis hash fields
 * whatever the job size. Bucket 0 holds times below 1 ms; bucket b ≥ 1 holds
 * [GROWTH^(b-1), GROWTH^b) ms, so a percentile read off a bucket is exact to within 5 %.
 */
const GROWTH = 1.05
const LOG_GROWTH = Math.log(GROWTH)

export function latencyBucket (timeMs: number): number {
  if (!(timeMs >= 1)) return 0
  return Math.floor(Math.log(timeMs) / LOG_GROWTH) + 1
}

/** Upper bound of a bucket in milliseconds. */
export function bucketUpperMs (bucket: number): number {
  return bucket === 0 ? 1 : GROWTH ** bucket
}

/**
 * Percentile (0–100) from bucket counts, as the upper bound of the bucket holding it,
 * clamped into [minMs, maxMs] so it never reports a time no record took.
 */
export function percentileFromBuckets (
  buckets: ReadonlyMap<number, number>, percentile: number, minMs: number, maxMs: number
): number | null {
  let total = 0
  for (const n of buckets.values()) total += n
  if (total === 0) return null
  const rank = Math.ceil((percentile / 100) * total)
  let seen = 0
  for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
    seen += buckets.get(bucket) ?? 0
    if (seen >= rank) return round2(Math.min(Math.max(bucketUpperMs(bucket), minMs), maxMs))
  }
  return round2(maxMs)
}

export function round2 (value: number): number {
  return Math.round(value * 100) / 100
}
