import Database from 'better-sqlite3'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EDGE_DB_FILE, openEdgeDatabase } from '../../edge/store/database.js'
import { LATEST_SCHEMA_VERSION, migrations } from '../../edge/store/migrations.js'
import { applyMigrations as applySharedMigrations, currentSchemaVersion, type Migration } from '../../shared/sqlite/migrations.js'

const applyMigrations = (db: Parameters<typeof applySharedMigrations>[0], all: readonly Migration[] = migrations): number => applySharedMigrations(db, all)
import { CloudosError } from '../../shared/errors.js'
import { runCli } from '../helpers/processes.js'
import { useTempDir } from '../helpers/temp-dir.js'

describe('edge database: opening and schema migrations', () => {
  it('creates the data dir and the database in WAL mode with incremental auto-vacuum', () => {
    const dataDir = join(useTempDir(), 'nested', 'data')
    const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
    try {
      expect(existsSync(join(dataDir, EDGE_DB_FILE))).toBe(true)
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2) // INCREMENTAL
      expect(db.pragma('synchronous', { simple: true })).toBe(1) // NORMAL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    } finally {
      db.close()
    }
    const full = openEdgeDatabase({ dataDir, synchronous: 'full' })
    expect(full.pragma('synchronous', { simple: true })).toBe(2) // FULL
    full.close()
  })

  it('records every migration in schema_migrations, once, across reopenings', () => {
    const dataDir = useTempDir()
    openEdgeDatabase({ dataDir, synchronous: 'normal' }).close()
    const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
    try {
      const rows = db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as { version: number; name: string; applied_at: number }[]
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version))
      expect(rows[0]?.name).toBe(migrations[0]?.name)
      expect(rows[0]?.applied_at).toBeGreaterThan(Date.parse('2020-01-01'))
      expect(currentSchemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name)
      expect(tables).toEqual(expect.arrayContaining(['series', 'reading_chunks', 'dead_letters', 'counters', 'schema_migrations']))
    } finally {
      db.close()
    }
  })

  it('refuses a database written by a newer version with STORE_ERR_SCHEMA_TOO_NEW, and leaves it untouched', () => {
    const dataDir = useTempDir()
    openEdgeDatabase({ dataDir, synchronous: 'normal' }).close()
    const raw = new Database(join(dataDir, EDGE_DB_FILE))
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'from the future', Date.now())
    raw.close()
    let error: unknown
    try {
      openEdgeDatabase({ dataDir, synchronous: 'normal' }).close()
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(CloudosError)
    expect((error as CloudosError).code).toBe('STORE_ERR_SCHEMA_TOO_NEW')
    expect((error as CloudosError).details).toEqual({ found: LATEST_SCHEMA_VERSION + 1, known: LATEST_SCHEMA_VERSION })
    const check = new Database(join(dataDir, EDGE_DB_FILE), { readonly: true })
    expect((check.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(LATEST_SCHEMA_VERSION + 1)
    check.close()
  })

  it('the CLI refuses such a data dir with the code and a non-zero exit', async () => {
    const dataDir = useTempDir()
    openEdgeDatabase({ dataDir, synchronous: 'normal' }).close()
    const raw = new Database(join(dataDir, EDGE_DB_FILE))
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', Date.now())
    raw.close()
    const result = await runCli(['edge', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0'])
    expect(result.code).not.toBe(0)
    expect(result.code).not.toBeNull()
    expect(result.stderr).toContain('STORE_ERR_SCHEMA_TOO_NEW')
    expect(result.stderr).toContain('999')
  })

  it('applies only the newer migrations, in version order', () => {
    const db = new Database(':memory:')
    try {
      expect(applyMigrations(db)).toBe(LATEST_SCHEMA_VERSION)
      const next: Migration[] = [
        ...migrations,
        { version: LATEST_SCHEMA_VERSION + 2, name: 'second', sql: 'ALTER TABLE extra ADD COLUMN b INTEGER' },
        { version: LATEST_SCHEMA_VERSION + 1, name: 'first', sql: 'CREATE TABLE extra (a INTEGER)' },
      ]
      expect(applyMigrations(db, next)).toBe(LATEST_SCHEMA_VERSION + 2)
      const columns = (db.prepare('PRAGMA table_info(extra)').all() as { name: string }[]).map((c) => c.name)
      expect(columns).toEqual(['a', 'b'])
      // Running again changes nothing.
      expect(applyMigrations(db, next)).toBe(LATEST_SCHEMA_VERSION + 2)
      // Version numbers have gaps (each line of work owns its numbers): one row per migration.
      expect((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(migrations.length + 2)
    } finally {
      db.close()
    }
  })

  it('a failing migration raises STORE_ERR_MIGRATION_FAILED and leaves the previous version intact', () => {
    const db = new Database(':memory:')
    try {
      applyMigrations(db)
      const broken: Migration[] = [
        ...migrations,
        { version: LATEST_SCHEMA_VERSION + 1, name: 'half done', sql: 'CREATE TABLE half (a INTEGER); INSERT INTO no_such_table VALUES (1);' },
      ]
      let error: unknown
      try {
        applyMigrations(db, broken)
      } catch (err) {
        error = err
      }
      expect((error as CloudosError).code).toBe('STORE_ERR_MIGRATION_FAILED')
      expect((error as CloudosError).message).toContain('half done')
      expect(currentSchemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined()
    } finally {
      db.close()
    }
  })
})
