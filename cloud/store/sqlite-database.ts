import Database from 'better-sqlite3'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { applyMigrations } from '../../shared/sqlite/migrations.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { hubMigrations } from './hub-migrations.js'

export const HUB_DB_FILE = 'hub.db'

/**
 * Opens (creating if needed) the hub database in the data dir: WAL so API
 * reads do not wait for writes, synchronous=FULL because the hub's writes are
 * few and each one (an account, an audit entry) must survive a power cut.
 */
export function openHubDatabase(dataDir: string, options: { synchronous?: 'FULL' | 'NORMAL' } = {}): SqliteDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, HUB_DB_FILE)
  // The database holds password hashes and TOTP secrets: create it private
  // (SQLite gives the -wal and -shm files the database file's mode).
  closeSync(openSync(path, 'a', 0o600))
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`)
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  applyMigrations(db, hubMigrations)
  return db
}
