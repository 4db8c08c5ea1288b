import { CloudosError } from '../errors.js'
import type { SqliteDatabase } from './database.js'

/**
 * Versioned schema migrations, the runner the edge and the hub share. Each
 * runs once, in its own transaction, and is recorded in `schema_migrations`;
 * a database newer than this code is refused rather than guessed at. Append
 * new migrations; never edit a shipped one.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export function latestVersion(all: readonly Migration[]): number {
  return all.reduce((max, m) => Math.max(max, m.version), 0)
}

export function currentSchemaVersion(db: SqliteDatabase): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`)
  const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null }
  return row.version ?? 0
}

/** Brings `db` up to the newest of `all`; returns the schema version it ends at. */
export function applyMigrations(db: SqliteDatabase, all: readonly Migration[]): number {
  const current = currentSchemaVersion(db)
  const latest = latestVersion(all)
  if (current > latest) {
    throw new CloudosError(
      'STORE_ERR_SCHEMA_TOO_NEW',
      `database schema version ${current} is newer than this build knows (${latest})`,
      { found: current, known: latest },
    )
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  for (const migration of [...all].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue
    try {
      db.transaction(() => {
        db.exec(migration.sql)
        record.run(migration.version, migration.name, Date.now())
      })()
    } catch (err) {
      throw new CloudosError(
        'STORE_ERR_MIGRATION_FAILED',
        `migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`,
        { version: migration.version },
      )
    }
  }
  return currentSchemaVersion(db)
}
