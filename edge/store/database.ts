import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { openSqliteDatabase } from '../../shared/sqlite/open-database.js'
import { migrations } from './migrations.js'

export interface OpenDatabaseOptions {
  /** Directory holding the database files; created if missing. */
  dataDir: string
  /** "full" (the config default): survives a power cut (fsync per commit); "normal": a process crash only. */
  synchronous: 'normal' | 'full'
}

export const EDGE_DB_FILE = 'edge.db'

/** Opens (creating if needed) the edge database and brings its schema up to date. */
export function openEdgeDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  return openSqliteDatabase({
    dir: options.dataDir,
    file: EDGE_DB_FILE,
    synchronous: options.synchronous === 'full' ? 'FULL' : 'NORMAL',
    // Config and telemetry are private: the file is created 0600 (the WAL and
    // shared-memory files take its mode), the directory 0700.
    ownerOnly: true,
    // better-sqlite3 is synchronous: a lock held by another process (a backup,
    // an operator's sqlite3 shell) blocks the event loop for up to this long per
    // attempt. Keep it short; a failed commit is retried without losing data.
    busyTimeoutMs: 250,
    // Retention hands freed pages back to the file system (incremental_vacuum).
    incrementalVacuum: true,
    // Keep the WAL from growing without bound between checkpoints under ingest load.
    walAutocheckpointPages: 4000,
    migrations,
  })
}
