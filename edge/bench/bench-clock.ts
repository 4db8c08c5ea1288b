/**
 * Epoch milliseconds with sub-millisecond resolution, comparable across the
 * benchmark's processes: `performance.timeOrigin` is the process start on the
 * wall clock, so timestamps taken by a publisher process and by the
 * orchestrator can be subtracted from each other (to well under a millisecond,
 * against runs of seconds).
 */
export function benchNow(): number {
  return performance.timeOrigin + performance.now()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
