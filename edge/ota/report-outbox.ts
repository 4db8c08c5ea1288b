import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import type { OtaReport } from '../../shared/protocol/ota.js'
import { otaPaths } from './ota-paths.js'

/**
 * OTA reports waiting for the hub, one small file each in <dataDir>/ota/outbox:
 * the supervisor (rollback, commit) and the updater (progress) both add to it
 * without coordinating; the updater sends them in order and removes each one
 * the hub accepted. A report survives restarts and hub outages.
 */
export class ReportOutbox {
  readonly #dir: string

  constructor(dataDir: string) {
    this.#dir = otaPaths(dataDir).outbox
    mkdirSync(this.#dir, { recursive: true })
  }

  add(report: OtaReport): void {
    const name = `${String(report.at).padStart(15, '0')}-${randomBytes(3).toString('hex')}.json`
    writeFileAtomic(join(this.#dir, name), JSON.stringify(report), 0o644)
  }

  /** Pending reports, oldest first. */
  pending(): { name: string; report: OtaReport }[] {
    const out: { name: string; report: OtaReport }[] = []
    for (const name of readdirSync(this.#dir).filter((n) => n.endsWith('.json')).sort()) {
      try {
        out.push({ name, report: JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as OtaReport })
      } catch {
        rmSync(join(this.#dir, name), { force: true })
      }
    }
    return out
  }

  remove(name: string): void {
    rmSync(join(this.#dir, name), { force: true })
  }
}
