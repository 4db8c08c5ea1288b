import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { CloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { CountersStore } from '../store/counters-store.js'

/** The marker beside the database: the epoch and how far the hub acknowledged, as this data dir last knew it. */
export const STREAM_MARKER_FILE = 'stream-epoch.json'

export type EpochReason = 'initial' | 'restored' | 'conflict' | 'marker-missing'

export interface StreamEpoch {
  epoch: string
  startedAt: number
  reason: EpochReason
  details: Record<string, unknown>
}

interface Marker {
  version: 1
  epoch: string
  /** Highest telemetry batch seq the hub acknowledged. */
  batchSeq: number
  /** Highest alert seq the hub acknowledged. */
  alertSeq: number
}

/** What the uploader and the alert forwarder need of the stream. */
export interface UploadStream {
  /** The current epoch, sent with every batch and alert batch. */
  readonly epoch: string
  /** The hub holds other content for a seq of this epoch (HUB_ERR_STREAM_CONFLICT): start a new one. */
  conflict(details: Record<string, unknown>): void
  /** The hub acknowledged batches or alerts: bring the marker up to date (throttled; `flush` forces it). */
  acknowledged(): void
  /** Writes what is pending for the marker (the outbox stops). */
  flush(): void
}

export interface StreamEpochsOptions {
  db: SqliteDatabase
  dataDir: string
  counters: CountersStore
  log: Logger
  /** Shortest time between two marker writes while uploading (each is an fsynced file). */
  markerIntervalMs?: number
  clock?: () => number
}

/**
 * The edge's upload stream epoch (issue 13). The database holds the current
 * epoch (`stream_epochs`, migration 6); a marker file outside it
 * (`<dataDir>/stream-epoch.json`) holds the epoch and the highest batch and
 * alert seqs the hub acknowledged. At start the two must agree: a database
 * that has not reached the seqs the marker says the hub holds (or does not
 * know the marker's epoch) was restored from a backup or copied, and would
 * reuse seqs the hub holds with other content, so a new epoch starts before
 * anything is uploaded. A copied data dir (marker included) cannot be told
 * from the original at start: the hub's 409 HUB_ERR_STREAM_CONFLICT on the
 * first reused seq starts a new epoch then (`conflict`). Either way the hub
 * keeps the epochs apart and recognises content it already holds, so what the
 * hub lacks is sent once and nothing is taken for a duplicate.
 */
export class StreamEpochs implements UploadStream {
  readonly #o: StreamEpochsOptions
  readonly #markerPath: string
  readonly #clock: () => number
  #current: StreamEpoch
  #lastMarkerAt = 0
  #markerDirty = false

  constructor(options: StreamEpochsOptions) {
    this.#o = options
    this.#markerPath = join(options.dataDir, STREAM_MARKER_FILE)
    this.#clock = options.clock ?? Date.now
    this.#current = this.#readCurrent()
  }

  get epoch(): string {
    return this.#current.epoch
  }

  get current(): StreamEpoch {
    return { ...this.#current }
  }

  /** Every epoch this database has had, oldest first. */
  history(): StreamEpoch[] {
    const rows = this.#o.db.prepare('SELECT epoch, started_at, reason, details FROM stream_epochs ORDER BY id').all() as EpochRow[]
    return rows.map(fromRow)
  }

  /** Checks the database against the marker (call once, before anything is uploaded). */
  open(): void {
    const marker = this.#readMarker()
    const acked = this.#acknowledged()
    const allocated = this.#allocated()
    const markerWritten = (this.#o.db.prepare('SELECT marker_written FROM stream_epochs WHERE epoch = ?').pluck().get(this.epoch) as number) === 1
    if (marker === undefined) {
      // Never written for this epoch (a first start, or the first after an upgrade): nothing to compare yet.
      if (!markerWritten || (acked.batchSeq === 0 && acked.alertSeq === 0)) return this.#writeMarker()
      return this.#startNew('marker-missing', { acknowledged: acked })
    }
    if (marker.epoch !== this.epoch) {
      const known = this.history().some((e) => e.epoch === marker.epoch)
      // The marker names an older epoch of this database: the edge stopped between the two writes of a switch.
      if (known) return this.#writeMarker()
      return this.#startNew('restored', { markerEpoch: marker.epoch, databaseEpoch: this.epoch })
    }
    if (allocated.batchSeq < marker.batchSeq || allocated.alertSeq < marker.alertSeq) {
      return this.#startNew('restored', { hubAcknowledged: { batchSeq: marker.batchSeq, alertSeq: marker.alertSeq }, databaseHolds: allocated })
    }
    this.#writeMarker()
  }

  conflict(details: Record<string, unknown>): void {
    this.#startNew('conflict', details)
  }

  acknowledged(): void {
    this.#markerDirty = true
    if (this.#clock() - this.#lastMarkerAt >= (this.#o.markerIntervalMs ?? 1000)) this.flush()
  }

  /** Writes the marker if the hub acknowledged anything since the last write (at stop). */
  flush(): void {
    if (this.#markerDirty) this.#writeMarker()
  }

  #startNew(reason: EpochReason, details: Record<string, unknown>): void {
    const epoch = randomBytes(12).toString('base64url')
    const previous = this.epoch
    const now = this.#clock()
    const { db, counters } = this.#o
    db.transaction(() => {
      db.prepare('INSERT INTO stream_epochs (epoch, started_at, reason, details) VALUES (?, ?, ?, ?)').run(epoch, now, reason, JSON.stringify({ previous, ...details }))
      // previousSeq is per epoch: nothing is confirmed in a new one yet.
      db.prepare("INSERT INTO outbox_state (name, value) VALUES ('confirmed_seq', 0) ON CONFLICT (name) DO UPDATE SET value = 0").run()
      counters.add(`stream_epoch.${reason}`, 1)
    })()
    this.#current = this.#readCurrent()
    this.#writeMarker()
    const error = new CloudosError(
      'OUTBOX_ERR_STREAM_RESTORED',
      reason === 'conflict'
        ? `the hub holds other content for a sequence number this edge reused: new upload stream epoch ${epoch} (was ${previous}); re-sending what the hub does not hold`
        : `the edge database is older than what the hub acknowledged (${reason}: restored from a backup or copied): new upload stream epoch ${epoch} (was ${previous}); re-sending what the hub does not hold`,
    )
    this.#o.log.warn(error.message, { code: error.code, reason, epoch, previous, ...details })
  }

  #readCurrent(): StreamEpoch {
    const row = this.#o.db.prepare('SELECT epoch, started_at, reason, details FROM stream_epochs ORDER BY id DESC LIMIT 1').get() as EpochRow
    return fromRow(row)
  }

  #readMarker(): Marker | undefined {
    if (!existsSync(this.#markerPath)) return undefined
    try {
      const value = JSON.parse(readFileSync(this.#markerPath, 'utf8')) as Partial<Marker>
      if (value.version === 1 && typeof value.epoch === 'string' && Number.isSafeInteger(value.batchSeq) && Number.isSafeInteger(value.alertSeq)) return value as Marker
    } catch {
      // Unreadable: treated as missing below.
    }
    return undefined
  }

  #writeMarker(): void {
    const marker: Marker = { version: 1, epoch: this.epoch, ...this.#acknowledged() }
    // A temp file left by a crash under the same pid (pid 1 in a container) would make the exclusive create fail.
    rmSync(`${this.#markerPath}.tmp-${process.pid}`, { force: true })
    writeFileAtomic(this.#markerPath, `${JSON.stringify(marker)}\n`, 0o644)
    this.#o.db.prepare('UPDATE stream_epochs SET marker_written = 1 WHERE epoch = ? AND marker_written = 0').run(this.epoch)
    this.#lastMarkerAt = this.#clock()
    this.#markerDirty = false
  }

  /** The highest seqs the hub acknowledged, as this database records them. */
  #acknowledged(): { batchSeq: number; alertSeq: number } {
    const { db } = this.#o
    const batchSeq = (db.prepare("SELECT value FROM outbox_state WHERE name = 'acked_seq'").pluck().get() as number | undefined) ?? 0
    const alertSeq = (db.prepare('SELECT max(seq) FROM alerts WHERE forwarded_at IS NOT NULL').pluck().get() as number | null) ?? 0
    return { batchSeq, alertSeq }
  }

  /** The highest seqs this database ever handed out (AUTOINCREMENT keeps them after deletes). */
  #allocated(): { batchSeq: number; alertSeq: number } {
    const seq = (name: string) => (this.#o.db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(name) as number | undefined) ?? 0
    return { batchSeq: seq('outbox_batches'), alertSeq: seq('alerts') }
  }
}

interface EpochRow {
  epoch: string
  started_at: number
  reason: EpochReason
  details: string
}

const fromRow = (row: EpochRow): StreamEpoch => ({ epoch: row.epoch, startedAt: row.started_at, reason: row.reason, details: JSON.parse(row.details) as Record<string, unknown> })
