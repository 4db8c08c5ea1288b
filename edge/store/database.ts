import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { applyEdgeMigrations } from './migrations.js'

export interface OpenDatabaseOptions {
  /** Directory holding the database files; created if missing. */
  dataDir: string
  /** "normal": survives a process crash; "full": also a power cut (fsync per commit). */
  synchronous: 'normal' | 'full'
}

export const EDGE_DB_FILE = 'edge.db'

/**
 * Opens (creating if needed) the edge database in WAL mode and brings its
 * schema up to date. WAL lets the HTTP API read while ingest writes, and a
 * committed transaction is in the WAL file before `commit` returns, so it
 * survives `kill -9` even with synchronous=NORMAL.
 */
export function openEdgeDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  mkdirSync(options.dataDir, { recursive: true })
  const db = new Database(join(options.dataDir, EDGE_DB_FILE))
  // auto_vacuum can only be chosen before the first table exists: incremental
  // mode lets retention hand freed pages back to the file system.
  if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL')
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  // better-sqlite3 is synchronous: a lock held by another process (a backup,
  // an operator's sqlite3 shell) blocks the event loop for up to this long per
  // attempt. Keep it short; a failed commit is retried without losing data.
  db.pragma('busy_timeout = 250')
  db.pragma('foreign_keys = ON')
  // Keep the WAL from growing without bound between checkpoints (pages).
  db.pragma('wal_autocheckpoint = 4000')
  applyEdgeMigrations(db)
  return db
}
