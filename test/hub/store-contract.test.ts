import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { hubMigrations } from '../../cloud/store/hub-migrations.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { MemoryConfigRepository } from '../../cloud/config/memory-config-repository.js'
import { configRepositoryContract, hubStoreContract } from './store-contract.js'

hubStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-hub-store-'))
  return { store: SqliteHubStore.open(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
})

describe('ConfigRepository contract: in memory', () => {
  it('documents saved and replaced, sync states per (peer, document), the latest report per device', () => configRepositoryContract(new MemoryConfigRepository()))
})

describe('SQLite hub database', () => {
  it('is in WAL mode, migrated to the latest version, and refuses a newer schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudos-hub-store-'))
    try {
      const store = SqliteHubStore.open(dir)
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
      const latest = Math.max(...hubMigrations.map((m) => m.version))
      expect((store.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(latest)
      await store.close()
      const db = new Database(join(dir, 'hub.db'))
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 1, 'from the future', 0)
      db.close()
      expect(() => SqliteHubStore.open(dir)).toThrow(expect.objectContaining({ code: 'STORE_ERR_SCHEMA_TOO_NEW' }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
