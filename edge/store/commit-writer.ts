import type { BatchWriter, CommitBatch } from '../ingest/ingest-pipeline.js'
import type { CountersStore } from './counters-store.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { DeadLetterStore } from './dead-letter-store.js'
import { encodeChunk } from './reading-chunk.js'
import type { ReadingsStore } from './readings-store.js'

export interface CommitWriterStores {
  db: SqliteDatabase
  readings: ReadingsStore
  deadLetters: DeadLetterStore
  counters: CountersStore
  now?: () => number
}

/** Writes one group commit (chunks, dead letters, counters) in one SQLite transaction. */
export class CommitWriter implements BatchWriter {
  readonly #stores: CommitWriterStores
  readonly #transaction: (batch: CommitBatch) => void

  constructor(stores: CommitWriterStores) {
    this.#stores = stores
    const now = stores.now ?? Date.now
    this.#transaction = stores.db.transaction((batch: CommitBatch) => {
      const committedAt = now()
      for (const series of batch.series) {
        const id = stores.readings.seriesIdFor(series.key.sensorId, series.key.metric, committedAt)
        stores.readings.appendChunk(id, encodeChunk(series.timestamps, series.values), committedAt)
      }
      for (const letter of batch.deadLetters) stores.deadLetters.append(letter)
      stores.counters.add('readings_stored', batch.readingCount)
      for (const [reason, count] of Object.entries(batch.rejectedByReason)) stores.counters.add(`readings_rejected.${reason}`, count)
    })
  }

  write(batch: CommitBatch): void {
    try {
      this.#transaction(batch)
    } catch (err) {
      // Series created inside the rolled-back transaction no longer exist.
      this.#stores.readings.resetCache()
      throw err
    }
  }
}
