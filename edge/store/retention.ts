import cron, { type ScheduledTask } from 'node-cron'
import type { CountersStore } from './counters-store.js'
import { databaseSizeBytes, type SqliteDatabase } from './database.js'
import type { DeadLetterStore } from './dead-letter-store.js'
import { decodeChunk } from './reading-chunk.js'

export interface RetentionPolicy {
  /** Readings older than this many days are deleted; 0 keeps them. */
  retentionDays: number
  /** Byte budget of the database; the oldest chunks go first above it. */
  maxBytes: number
  deadLetterMaxRows: number
}

export interface RetentionResult {
  chunksDeletedByAge: number
  readingsDeletedByAge: number
  chunksDeletedByBudget: number
  readingsDeletedByBudget: number
  deadLettersPruned: number
  sizeBytesBefore: number
  sizeBytesAfter: number
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Chunks deleted per transaction, so retention never blocks ingest for long. */
const DELETE_STEP = 500

/**
 * Deletes readings by age and by byte budget, oldest first, and counts what it
 * deleted (counters `readings_deleted.age` / `readings_deleted.budget`).
 */
export class RetentionJob {
  readonly #db: SqliteDatabase
  readonly #counters: CountersStore
  readonly #deadLetters: DeadLetterStore
  readonly #now: () => number
  readonly #statements: ReturnType<typeof prepareStatements>
  #task: ScheduledTask | undefined

  constructor(db: SqliteDatabase, counters: CountersStore, deadLetters: DeadLetterStore, now: () => number = Date.now) {
    this.#db = db
    this.#counters = counters
    this.#deadLetters = deadLetters
    this.#now = now
    this.#statements = prepareStatements(db)
  }

  /** Runs `run(policy())` on the cron schedule; errors are reported, never thrown. */
  schedule(expression: string, policy: () => RetentionPolicy, onError: (err: Error) => void, onRun?: (r: RetentionResult) => void): void {
    this.stop()
    this.#task = cron.schedule(expression, () => {
      try {
        onRun?.(this.run(policy()))
      } catch (err) {
        onError(err as Error)
      }
    }, { noOverlap: true })
  }

  stop(): void {
    void this.#task?.stop()
    this.#task = undefined
  }

  run(policy: RetentionPolicy): RetentionResult {
    const sizeBytesBefore = databaseSizeBytes(this.#db)
    const result: RetentionResult = {
      chunksDeletedByAge: 0,
      readingsDeletedByAge: 0,
      chunksDeletedByBudget: 0,
      readingsDeletedByBudget: 0,
      deadLettersPruned: 0,
      sizeBytesBefore,
      sizeBytesAfter: sizeBytesBefore,
    }
    if (policy.retentionDays > 0) {
      const cutoff = this.#now() - policy.retentionDays * DAY_MS
      const select = this.#statements.olderThan
      for (;;) {
        const deleted = this.#deleteChunks(select.all(cutoff, DELETE_STEP) as Victim[], 'readings_deleted.age')
        result.chunksDeletedByAge += deleted.chunks
        result.readingsDeletedByAge += deleted.readings
        if (deleted.chunks < DELETE_STEP) break
      }
    }
    result.deadLettersPruned = this.#deadLetters.prune(policy.deadLetterMaxRows)
    // Over budget: delete the oldest chunks, then hand the freed pages back.
    const oldest = this.#statements.oldest
    let size = databaseSizeBytes(this.#db)
    while (size > policy.maxBytes) {
      const candidates = oldest.all(DELETE_STEP) as (Victim & { bytes: number })[]
      if (candidates.length === 0) break
      let excess = size - policy.maxBytes
      const victims: Victim[] = []
      for (const c of candidates) {
        victims.push(c)
        excess -= c.bytes
        if (excess <= 0) break
      }
      const deleted = this.#deleteChunks(victims, 'readings_deleted.budget')
      result.chunksDeletedByBudget += deleted.chunks
      result.readingsDeletedByBudget += deleted.readings
      size = databaseSizeBytes(this.#db)
    }
    if (result.chunksDeletedByAge + result.chunksDeletedByBudget + result.deadLettersPruned > 0) {
      this.#db.pragma('incremental_vacuum')
      this.#db.pragma('wal_checkpoint(PASSIVE)')
    }
    result.sizeBytesAfter = databaseSizeBytes(this.#db)
    return result
  }

  /**
   * Deletes chunks and, in the same transaction, brings the summaries of the
   * series they belonged to up to date (count, first/last timestamp, last
   * value), so /v1/sensors never reports readings that are gone.
   */
  #deleteChunks(victims: Victim[], counter: string): { chunks: number; readings: number } {
    if (victims.length === 0) return { chunks: 0, readings: 0 }
    const remove = this.#statements.remove
    let readings = 0
    const perSeries = new Map<number, number>()
    this.#db.transaction(() => {
      for (const v of victims) {
        remove.run(v.id)
        readings += v.count
        perSeries.set(v.series_id, (perSeries.get(v.series_id) ?? 0) + v.count)
      }
      for (const [seriesId, deleted] of perSeries) this.#refreshSeries(seriesId, deleted)
      this.#counters.add(counter, readings)
    })()
    return { chunks: victims.length, readings }
  }

  #refreshSeries(seriesId: number, deleted: number): void {
    const statements = this.#statements
    const bounds = statements.seriesBounds.get(seriesId) as { first: number | null; last: number | null }
    const current = statements.seriesLastTs.get(seriesId) as { last_ts: number | null } | undefined
    let lastValue: number | null | undefined // undefined: unchanged
    if (bounds.last === null) lastValue = null
    else if (current?.last_ts !== null && current !== undefined && bounds.last < (current.last_ts as number)) {
      // The chunk holding the latest reading went: read the new latest one.
      const row = statements.latestChunk.get(seriesId, bounds.last) as { encoding: number; timestamps: Buffer; vals: Buffer }
      const { values } = decodeChunk(row.encoding, row.timestamps, row.vals)
      lastValue = values[values.length - 1] ?? null
    }
    statements.updateSeries.run({ id: seriesId, deleted, first: bounds.first, last: bounds.last, keep: lastValue === undefined ? 1 : 0, lastValue: lastValue ?? null })
  }
}

function prepareStatements(db: SqliteDatabase) {
  return {
    olderThan: db.prepare('SELECT id, series_id, count FROM reading_chunks WHERE ts_max < ? ORDER BY ts_max LIMIT ?'),
    oldest: db.prepare('SELECT id, series_id, count, length(timestamps) + length(vals) + 64 AS bytes FROM reading_chunks ORDER BY ts_max LIMIT ?'),
    remove: db.prepare('DELETE FROM reading_chunks WHERE id = ?'),
    seriesBounds: db.prepare('SELECT min(ts_min) AS first, max(ts_max) AS last FROM reading_chunks WHERE series_id = ?'),
    seriesLastTs: db.prepare('SELECT last_ts FROM series WHERE id = ?'),
    latestChunk: db.prepare('SELECT encoding, timestamps, vals FROM reading_chunks WHERE series_id = ? AND ts_max = ? ORDER BY id DESC LIMIT 1'),
    updateSeries: db.prepare(
      `UPDATE series SET reading_count = max(reading_count - @deleted, 0), first_ts = @first, last_ts = @last,
         last_value = CASE WHEN @keep THEN last_value ELSE @lastValue END
       WHERE id = @id`,
    ),
  }
}

interface Victim {
  id: number
  series_id: number
  count: number
}
