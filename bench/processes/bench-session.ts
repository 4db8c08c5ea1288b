import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChildReaper } from './child-reaper.js'

/**
 * What one benchmark run owns and must leave behind clean: the child
 * processes it starts (tracked by the reaper) and a scratch folder. Both go
 * in `close()`, and also on Ctrl-C or SIGTERM, which end the process from the
 * reaper's signal hook without reaching any `finally`.
 */
export class BenchSession {
  readonly reaper = new ChildReaper()
  readonly workDir: string
  readonly #removeWorkDir: () => void

  /** `prefix` names the scratch folder under the OS temp dir, e.g. `cloudos-bench-hub-`. */
  constructor(prefix: string) {
    this.reaper.installProcessHooks()
    this.workDir = mkdtempSync(join(tmpdir(), prefix))
    this.#removeWorkDir = () => rmSync(this.workDir, { recursive: true, force: true })
    process.on('exit', this.#removeWorkDir)
  }

  /** Kills every child still running, removes the scratch folder and the process hooks. */
  close(): void {
    this.reaper.killAll()
    this.reaper.uninstallProcessHooks()
    process.off('exit', this.#removeWorkDir)
    this.#removeWorkDir()
  }
}
