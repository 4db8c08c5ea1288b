import Database from 'better-sqlite3'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import type { SqliteDatabase } from './database.js'
import { applyMigrations, type Migration } from './migrations.js'

export interface OpenSqliteOptions {
  /** Directory holding the database files; created if missing. */
  dir: string
  /** File name inside `dir`, e.g. edge.db. */
  file: string
  /** NORMAL survives a process crash (WAL); FULL also a power cut (fsync per commit). */
  synchronous: 'NORMAL' | 'FULL'
  /** How long a statement waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs: number
  /** Create the directory (0700) and the file (0600) for the owner only: for secrets such as password hashes. */
  ownerOnly?: boolean
  /** Choose incremental auto-vacuum when the file is new (it cannot be chosen once a table exists). */
  incrementalVacuum?: boolean
  /** WAL pages between automatic checkpoints (SQLite's default: 1000). */
  walAutocheckpointPages?: number
  /** The side's schema, applied before the database is handed out. */
  migrations: readonly Migration[]
}

/**
 * Opens (creating if needed) a SQLite database in WAL mode, the way both the
 * edge and the hub do: WAL lets readers run while a writer commits, and a
 * committed transaction is in the WAL before `commit` returns, so it survives
 * `kill -9` even with synchronous=NORMAL. Foreign keys are on; the schema is
 * brought up to date (shared/sqlite/migrations.ts).
 */
export function openSqliteDatabase(options: OpenSqliteOptions): SqliteDatabase {
  mkdirSync(options.dir, { recursive: true, ...(options.ownerOnly === true ? { mode: 0o700 } : {}) })
  const path = join(options.dir, options.file)
  // SQLite gives the -wal and -shm files the database file's mode.
  if (options.ownerOnly === true) closeSync(openSync(path, 'a', 0o600))
  const db = new Database(path)
  if (options.incrementalVacuum === true && (db.pragma('page_count', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL')
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous}`)
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
  db.pragma('foreign_keys = ON')
  if (options.walAutocheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages}`)
  applyMigrations(db, options.migrations)
  return db
}
