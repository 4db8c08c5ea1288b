import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { EdgeService } from './edge-service.js'

/**
 * The edge database, opened by the runtime before anything else is built.
 * Registered first, so it closes last: after the final commit and the last
 * anomaly scores are written.
 */
export class DatabaseService implements EdgeService {
  readonly name = 'database'
  // storage.synchronous needs a restart: the database owns no live section.
  readonly sections = [] as const
  readonly db: SqliteDatabase

  constructor(db: SqliteDatabase) {
    this.db = db
  }

  start(): void {}

  stop(): void {
    if (!this.db.open) return
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)')
    } catch {
      // A checkpoint is an optimisation; the WAL is replayed on next open.
    }
    this.db.close()
  }
}
