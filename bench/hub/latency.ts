/** Percentile (nearest rank) of latencies in milliseconds; 0 for an empty list. */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return 0
  const rank = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1))
  return sortedMs[rank] as number
}

export interface LatencySummary {
  p50Ms: number
  p99Ms: number
  maxMs: number
}

export function summariseLatencies(latenciesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort()
  const list = Array.from(sorted)
  const round = (ms: number) => Math.round(ms * 1000) / 1000
  return { p50Ms: round(percentile(list, 50)), p99Ms: round(percentile(list, 99)), maxMs: round(list[list.length - 1] ?? 0) }
}
