import type { ChildProcess } from 'node:child_process'

/**
 * Keeps track of every process the benchmark starts so that none outlives it:
 * on normal exit, on an error that ends the process, and on Ctrl-C/SIGTERM,
 * every child still running is killed.
 */
export class ChildReaper {
  readonly #children = new Set<ChildProcess>()
  #uninstall: (() => void) | undefined

  track<T extends ChildProcess>(child: T): T {
    if (child.exitCode === null && child.signalCode === null) {
      this.#children.add(child)
      child.once('exit', () => this.#children.delete(child))
    }
    return child
  }

  get running(): number {
    return this.#children.size
  }

  /** SIGKILL to every child still running (synchronous: safe in an 'exit' handler). */
  killAll(): void {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    this.#children.clear()
  }

  /**
   * Kills the children when this process exits or is interrupted. A signal
   * ends the process with 128 + signal number, as a shell expects.
   */
  installProcessHooks(): void {
    if (this.#uninstall !== undefined) return
    const onExit = () => this.killAll()
    const onSignal = (signal: NodeJS.Signals) => {
      this.killAll()
      process.stderr.write(`\ncloudos bench: ${signal} received, child processes stopped\n`)
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    process.on('exit', onExit)
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    this.#uninstall = () => {
      process.off('exit', onExit)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }

  uninstallProcessHooks(): void {
    this.#uninstall?.()
    this.#uninstall = undefined
  }
}

/** Asks a child to stop with `signal`, and kills it if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
