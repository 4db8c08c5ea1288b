/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Nearest-rank percentile of ascending values, `q` a fraction (0.99 for p99);
 * undefined for an empty list, which each report shows its own way.
 */
export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** Rounds milliseconds to the microsecond, as every latency report prints them. */
export const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000

export interface LatencySummary {
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** p50, p99 and max of latencies in milliseconds (any order); zeros for an empty list. */
export function summariseLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = Array.from(Float64Array.from(latenciesMs).sort())
  return { p50Ms: roundMs(percentile(sorted, 0.5) ?? 0), p99Ms: roundMs(percentile(sorted, 0.99) ?? 0), maxMs: roundMs(sorted.at(-1) ?? 0) }
}
