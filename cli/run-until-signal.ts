/**
 * Keeps a long-running command alive until SIGINT/SIGTERM, then runs `stop`
 * once and exits (0 if it stopped cleanly). A second signal exits at once.
 */
export function runUntilSignal(stop: () => Promise<void>, onSignal?: (signal: string) => void): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(130)
    }
    stopping = true
    onSignal?.(signal)
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`error while stopping: ${err.message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
