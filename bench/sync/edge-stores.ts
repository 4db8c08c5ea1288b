import type { OutboxConfig } from '../../shared/config/edge-config-schema.js'
import { Outbox } from '../../edge/outbox/outbox.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { CommitWriter } from '../../edge/store/commit-writer.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { DeadLetterStore } from '../../edge/store/dead-letter-store.js'
import { ReadingsStore } from '../../edge/store/readings-store.js'
import { RetentionJob } from '../../edge/store/retention.js'
import { silentLogger } from '../../shared/log/logger.js'
import type { BacklogSink } from './simulated-backlog.js'

/** The edge's stores on a data dir, wired as the runtime wires them, without broker or API (benchmarks, tests). */
export interface EdgeStores {
  db: SqliteDatabase
  counters: CountersStore
  readings: ReadingsStore
  alerts: AlertStore
  writer: CommitWriter
  outbox: Outbox
  retention: RetentionJob
  /** Commit path + sealer on a simulated clock. */
  sink: BacklogSink
  close(): void
}

export function openEdgeStores(dataDir: string, outboxConfig: OutboxConfig, now: () => number = Date.now): EdgeStores {
  const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
  const counters = new CountersStore(db)
  const deadLetters = new DeadLetterStore(db)
  const outbox = new Outbox({ db, counters, config: outboxConfig, log: silentLogger, now })
  const readings = new ReadingsStore(db, outbox.sealed)
  const writer = new CommitWriter({ db, readings, deadLetters, counters, now })
  return {
    db,
    counters,
    readings,
    alerts: new AlertStore(db, now),
    writer,
    outbox,
    retention: new RetentionJob(db, counters, deadLetters, now),
    sink: {
      commit: (series, readingCount) => writer.write({ series, deadLetters: [], readingCount, rejectedByReason: {} }),
      seal: (at) => outbox.seal(at),
    },
    close() {
      outbox.stop()
      if (db.open) {
        db.pragma('wal_checkpoint(TRUNCATE)')
        db.close()
      }
    },
  }
}
