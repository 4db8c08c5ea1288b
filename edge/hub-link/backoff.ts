/**
 * Exponential backoff with jitter for calls to the hub: the n-th consecutive
 * failure waits initialMs * 2^(n-1), capped at maxMs, drawn uniformly from
 * [half, all] of that ("equal jitter"). The jitter spreads a fleet's retries
 * after a hub outage; the lower half-bound keeps retries from hammering a hub
 * that has just come back.
 */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
  /** A number in [0, 1); Math.random by default (tests pass a fixed one). */
  random?: () => number
}

export function backoffDelayMs(failures: number, options: BackoffOptions): number {
  if (failures < 1) return 0
  const random = options.random ?? Math.random
  // 2^30 is far past any cap and keeps the power finite.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(failures - 1, 30))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}
