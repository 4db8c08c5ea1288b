import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import { IngestPipeline, type ReadingObserver } from '../ingest/ingest-pipeline.js'
import { CommitWriter } from '../store/commit-writer.js'
import type { CountersStore } from '../store/counters-store.js'
import type { DeadLetterStore } from '../store/dead-letter-store.js'
import type { ReadingsStore } from '../store/readings-store.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { EdgeService } from './edge-service.js'

export interface IngestServiceOptions {
  db: SqliteDatabase
  readings: ReadingsStore
  deadLetters: DeadLetterStore
  counters: CountersStore
  config: EdgeConfig
  /** Wraps the release of a commit's acknowledgements (the broker batches its writes). */
  aroundAcks: (release: () => void) => void
  onReading: ReadingObserver
  /** A successful commit's duration in seconds (the /metrics histogram). */
  observeCommit: (seconds: number) => void
  log: Logger
}

/**
 * The ingest pipeline (decode, group commit into SQLite, acknowledgements
 * after the commit). Owns `ingest` and `storage` (limits and group commit).
 * It has nothing to start: the broker feeds it. Its stop is the final commit,
 * after the broker has stopped taking messages.
 */
export class IngestService implements EdgeService {
  readonly name = 'ingest'
  readonly sections = ['ingest', 'storage'] as const
  readonly pipeline: IngestPipeline
  readonly #log: Logger
  #storageFailing = false

  constructor(options: IngestServiceOptions) {
    const { db, readings, deadLetters, counters, config, log } = options
    this.#log = log
    this.pipeline = new IngestPipeline({
      writer: new CommitWriter({ db, readings, deadLetters, counters }),
      ingest: config.ingest,
      storage: config.storage,
      onCommit: (seconds) => {
        this.#storageFailing = false
        options.observeCommit(seconds)
      },
      aroundAcks: options.aroundAcks,
      onCommitError: (err) => {
        if (!this.#storageFailing) log.error('commit failed; readings are kept in memory and retried', { error: err.message })
        this.#storageFailing = true
      },
      onReading: options.onReading,
    })
  }

  /** The last commit failed (readings wait in memory): /healthz says degraded. */
  get storageFailing(): boolean {
    return this.#storageFailing
  }

  start(): void {}

  stop(): void {
    if (!this.pipeline.close()) this.#log.error('final commit failed: unacknowledged QoS 1 messages will be re-sent by their publishers')
  }

  reconfigure(next: EdgeConfig): void {
    this.pipeline.reconfigure(next.ingest, next.storage)
  }
}
