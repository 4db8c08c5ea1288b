import cron, { type ScheduledTask } from 'node-cron'
import type { CountersStore } from './counters-store.js'
import { databaseSizeBytes, type SqliteDatabase } from '../../shared/sqlite/database.js'
import type { DeadLetterStore } from './dead-letter-store.js'
import { decodeBatch } from '../../shared/telemetry-batch/index.js'
import { columnOf } from '../outbox/sealed-readings.js'
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
  /** Sealed batches deleted (by age or budget) after the hub confirmed them: history, not a loss. */
  uploadedBatchesPruned: number
  uploadedReadingsPruned: number
  /** Readings deleted before the hub confirmed them (raw chunks and unsent batches), by age or budget. */
  readingsDroppedUnsent: number
  deadLettersPruned: number
  sizeBytesBefore: number
  sizeBytesAfter: number
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Chunks deleted per transaction, so retention never blocks ingest for long. */
const DELETE_STEP = 500

/**
 * Deletes readings by age and by byte budget and counts what it deleted.
 *
 * Over the budget the order is (docs/operations.md, "Offline budget"):
 * 1. sealed batches the hub already confirmed (history: the data is safe at
 *    the hub), oldest first;
 * 2. sealed batches not yet uploaded, oldest (lowest seq) first;
 * 3. raw chunks (the most recent data, not yet sealed), oldest first.
 * Alerts live in their own table and are never deleted.
 *
 * Counters: `readings_deleted.age|budget` count every reading deleted;
 * `readings_dropped.age|budget` the subset the hub never received (reported
 * to the hub with each upload); `readings_pruned.uploaded` the history pruned.
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
      uploadedBatchesPruned: 0,
      uploadedReadingsPruned: 0,
      readingsDroppedUnsent: 0,
      deadLettersPruned: 0,
      sizeBytesBefore,
      sizeBytesAfter: sizeBytesBefore,
    }
    if (policy.retentionDays > 0) {
      const cutoff = this.#now() - policy.retentionDays * DAY_MS
      const select = this.#statements.olderThan
      for (;;) {
        const deleted = this.#deleteChunks(select.all(cutoff, DELETE_STEP) as Victim[], 'readings_deleted.age', 'readings_dropped.age')
        result.readingsDroppedUnsent += deleted.readings
        result.chunksDeletedByAge += deleted.chunks
        result.readingsDeletedByAge += deleted.readings
        if (deleted.chunks < DELETE_STEP) break
      }
    }
    if (policy.retentionDays > 0) {
      const cutoff = this.#now() - policy.retentionDays * DAY_MS
      for (;;) {
        const victims = this.#statements.batchesOlderThan.all(cutoff, DELETE_STEP) as BatchVictim[]
        this.#deleteBatches(victims, 'age', result)
        if (victims.length < DELETE_STEP) break
      }
    }
    result.deadLettersPruned = this.#deadLetters.prune(policy.deadLetterMaxRows)
    // Over budget: uploaded history, then unsent batches, then raw chunks;
    // then hand the freed pages back.
    let size = databaseSizeBytes(this.#db)
    for (const select of [this.#statements.oldestUploaded, this.#statements.oldestUnsent]) {
      while (size > policy.maxBytes) {
        const candidates = select.all(DELETE_STEP) as BatchVictim[]
        if (candidates.length === 0) break
        let excess = size - policy.maxBytes
        const victims: BatchVictim[] = []
        for (const c of candidates) {
          victims.push(c)
          excess -= c.bytes
          if (excess <= 0) break
        }
        this.#deleteBatches(victims, 'budget', result)
        size = databaseSizeBytes(this.#db)
      }
    }
    const oldest = this.#statements.oldest
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
      const deleted = this.#deleteChunks(victims, 'readings_deleted.budget', 'readings_dropped.budget')
      result.readingsDroppedUnsent += deleted.readings
      result.chunksDeletedByBudget += deleted.chunks
      result.readingsDeletedByBudget += deleted.readings
      size = databaseSizeBytes(this.#db)
    }
    if (result.chunksDeletedByAge + result.chunksDeletedByBudget + result.deadLettersPruned + result.uploadedBatchesPruned + result.readingsDroppedUnsent > 0) {
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
  #deleteChunks(victims: Victim[], counter: string, droppedCounter?: string): { chunks: number; readings: number } {
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
      if (droppedCounter !== undefined) this.#counters.add(droppedCounter, readings)
    })()
    return { chunks: victims.length, readings }
  }

  /** Deletes sealed batches (their series index goes with them), refreshes the series summaries and counts, in one transaction. */
  #deleteBatches(victims: BatchVictim[], reason: 'age' | 'budget', result: RetentionResult): void {
    if (victims.length === 0) return
    const statements = this.#statements
    this.#db.transaction(() => {
      const perSeries = new Map<number, number>()
      for (const v of victims) {
        for (const s of statements.batchSeries.all(v.seq) as { series_id: number; count: number }[]) {
          perSeries.set(s.series_id, (perSeries.get(s.series_id) ?? 0) + s.count)
        }
        statements.removeBatch.run(v.seq)
        this.#counters.add(`readings_deleted.${reason}`, v.reading_count)
        if (reason === 'age') {
          result.chunksDeletedByAge++
          result.readingsDeletedByAge += v.reading_count
        } else {
          result.chunksDeletedByBudget++
          result.readingsDeletedByBudget += v.reading_count
        }
        if (v.uploaded_at !== null) {
          this.#counters.add('readings_pruned.uploaded', v.reading_count)
          result.uploadedBatchesPruned++
          result.uploadedReadingsPruned += v.reading_count
        } else {
          this.#counters.add(`readings_dropped.${reason}`, v.reading_count)
          result.readingsDroppedUnsent += v.reading_count
        }
      }
      for (const [seriesId, deleted] of perSeries) this.#refreshSeries(seriesId, deleted)
    })()
  }

  #refreshSeries(seriesId: number, deleted: number): void {
    const statements = this.#statements
    const bounds = statements.seriesBounds.get(seriesId, seriesId) as { first: number | null; last: number | null }
    const current = statements.seriesLastTs.get(seriesId) as { last_ts: number | null } | undefined
    let lastValue: number | null | undefined // undefined: unchanged
    if (bounds.last === null) lastValue = null
    else if (current?.last_ts !== null && current !== undefined && bounds.last < (current.last_ts as number)) {
      // The chunk holding the latest reading went: read the new latest one.
      const row = statements.latestChunk.get(seriesId, bounds.last) as { encoding: number; timestamps: Buffer; vals: Buffer } | undefined
      if (row !== undefined) {
        const { values } = decodeChunk(row.encoding, row.timestamps, row.vals)
        lastValue = values[values.length - 1] ?? null
      } else {
        lastValue = this.#lastValueInBatches(seriesId, bounds.last)
      }
    }
    statements.updateSeries.run({ id: seriesId, deleted, first: bounds.first, last: bounds.last, keep: lastValue === undefined ? 1 : 0, lastValue: lastValue ?? null })
  }

  /** The value at `ts` of a series whose latest reading is in a sealed batch. */
  #lastValueInBatches(seriesId: number, ts: number): number | null {
    const row = this.#statements.latestBatch.get(seriesId, ts) as { bytes: Buffer } | undefined
    const names = this.#statements.seriesNames.get(seriesId) as { sensor_id: string; metric: string } | undefined
    if (row === undefined || names === undefined) return null
    try {
      const { timestamps, values } = columnOf(decodeBatch(row.bytes), names.sensor_id, names.metric)
      for (let i = timestamps.length - 1; i >= 0; i--) if (timestamps[i] === ts) return values[i] as number
    } catch {
      // A damaged batch: the summary's last value is unknown rather than wrong.
    }
    return null
  }
}

function prepareStatements(db: SqliteDatabase) {
  const batchColumns = 'seq, reading_count, uploaded_at, byte_size + 64 AS bytes'
  return {
    olderThan: db.prepare('SELECT id, series_id, count FROM reading_chunks WHERE ts_max < ? ORDER BY ts_max LIMIT ?'),
    oldest: db.prepare('SELECT id, series_id, count, length(timestamps) + length(vals) + 64 AS bytes FROM reading_chunks ORDER BY ts_max LIMIT ?'),
    remove: db.prepare('DELETE FROM reading_chunks WHERE id = ?'),
    seriesBounds: db.prepare(
      `SELECT min(a) AS first, max(b) AS last FROM (
         SELECT ts_min AS a, ts_max AS b FROM reading_chunks WHERE series_id = ?
         UNION ALL SELECT ts_min, ts_max FROM outbox_batch_series WHERE series_id = ?)`,
    ),
    batchesOlderThan: db.prepare(`SELECT ${batchColumns} FROM outbox_batches WHERE ts_max < ? ORDER BY ts_max LIMIT ?`),
    oldestUploaded: db.prepare(`SELECT ${batchColumns} FROM outbox_batches WHERE uploaded_at IS NOT NULL ORDER BY seq LIMIT ?`),
    oldestUnsent: db.prepare(`SELECT ${batchColumns} FROM outbox_batches WHERE uploaded_at IS NULL ORDER BY seq LIMIT ?`),
    batchSeries: db.prepare('SELECT series_id, count FROM outbox_batch_series WHERE seq = ?'),
    removeBatch: db.prepare('DELETE FROM outbox_batches WHERE seq = ?'),
    latestBatch: db.prepare('SELECT b.bytes FROM outbox_batch_series s JOIN outbox_batches b ON b.seq = s.seq WHERE s.series_id = ? AND s.ts_max = ? ORDER BY s.seq DESC LIMIT 1'),
    seriesNames: db.prepare('SELECT sensor_id, metric FROM series WHERE id = ?'),
    seriesLastTs: db.prepare('SELECT last_ts FROM series WHERE id = ?'),
    latestChunk: db.prepare('SELECT encoding, timestamps, vals FROM reading_chunks WHERE series_id = ? AND ts_max = ? ORDER BY id DESC LIMIT 1'),
    updateSeries: db.prepare(
      `UPDATE series SET reading_count = max(reading_count - @deleted, 0), first_ts = @first, last_ts = @last,
         last_value = CASE WHEN @keep THEN last_value ELSE @lastValue END
       WHERE id = @id`,
    ),
  }
}

interface BatchVictim {
  seq: number
  reading_count: number
  uploaded_at: number | null
  bytes: number
}

interface Victim {
  id: number
  series_id: number
  count: number
}
