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

/** Resolves after `ms`; with `unref`, the timer does not keep the process alive. */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    if (options.unref === true) timer.unref()
  })
}
