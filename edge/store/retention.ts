import cron, { type ScheduledTask } from 'node-cron'
import type { CountersStore } from './counters-store.js'
import { databaseSizeBytes, type SqliteDatabase } from './database.js'
import type { DeadLetterStore } from './dead-letter-store.js'

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
  #task: ScheduledTask | undefined

  constructor(db: SqliteDatabase, counters: CountersStore, deadLetters: DeadLetterStore, now: () => number = Date.now) {
    this.#db = db
    this.#counters = counters
    this.#deadLetters = deadLetters
    this.#now = now
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
      const select = this.#db.prepare('SELECT id, count FROM reading_chunks WHERE ts_max < ? ORDER BY ts_max LIMIT ?')
      for (;;) {
        const deleted = this.#deleteChunks(select.all(cutoff, DELETE_STEP) as { id: number; count: number }[], 'readings_deleted.age')
        result.chunksDeletedByAge += deleted.chunks
        result.readingsDeletedByAge += deleted.readings
        if (deleted.chunks < DELETE_STEP) break
      }
    }
    result.deadLettersPruned = this.#deadLetters.prune(policy.deadLetterMaxRows)
    // Over budget: delete the oldest chunks, then hand the freed pages back.
    const oldest = this.#db.prepare('SELECT id, count, length(timestamps) + length(vals) + 64 AS bytes FROM reading_chunks ORDER BY ts_max LIMIT ?')
    let size = databaseSizeBytes(this.#db)
    while (size > policy.maxBytes) {
      const candidates = oldest.all(DELETE_STEP) as { id: number; count: number; bytes: number }[]
      if (candidates.length === 0) break
      let excess = size - policy.maxBytes
      const victims: { id: number; count: number }[] = []
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

  #deleteChunks(victims: { id: number; count: number }[], counter: string): { chunks: number; readings: number } {
    if (victims.length === 0) return { chunks: 0, readings: 0 }
    const remove = this.#db.prepare('DELETE FROM reading_chunks WHERE id = ?')
    let readings = 0
    this.#db.transaction(() => {
      for (const v of victims) {
        remove.run(v.id)
        readings += v.count
      }
      this.#counters.add(counter, readings)
    })()
    return { chunks: victims.length, readings }
  }
}
