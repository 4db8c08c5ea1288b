import type { SyncedDoc } from '../../shared/protocol/config-sync.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

export interface AppliedRecord {
  config: unknown
  appliedHeads: Record<SyncedDoc, string[]>
  appliedAt: number
  status: 'applied' | 'rejected'
  errors: { key: string; code: string; reason: string; layer?: string }[]
  pendingRestart: string[]
}

/** The edge's config replicas, sync states and last good config in its SQLite store (migration 5). */
export class ConfigReplicaStore {
  readonly #statements

  constructor(db: SqliteDatabase) {
    this.#statements = {
      replica: db.prepare('SELECT name, bytes FROM config_replicas WHERE doc = ?'),
      saveReplica: db.prepare(
        'INSERT INTO config_replicas (doc, name, bytes, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (doc) DO UPDATE SET name = excluded.name, bytes = excluded.bytes, updated_at = excluded.updated_at',
      ),
      syncState: db.prepare('SELECT state FROM config_sync_states WHERE peer = ? AND doc = ?').pluck(),
      saveSyncState: db.prepare(
        'INSERT INTO config_sync_states (peer, doc, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (peer, doc) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      ),
      deleteSyncState: db.prepare('DELETE FROM config_sync_states WHERE doc = ?'),
      applied: db.prepare('SELECT * FROM config_applied WHERE id = 1'),
      saveApplied: db.prepare(
        'INSERT INTO config_applied (id, config, applied_heads, applied_at, status, errors, pending_restart) VALUES (1, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (id) DO UPDATE SET config = excluded.config, applied_heads = excluded.applied_heads, applied_at = excluded.applied_at, status = excluded.status, errors = excluded.errors, pending_restart = excluded.pending_restart',
      ),
    }
  }

  replica(doc: SyncedDoc): { name: string; bytes: Uint8Array } | undefined {
    const row = this.#statements.replica.get(doc) as { name: string; bytes: Buffer } | undefined
    return row && { name: row.name, bytes: new Uint8Array(row.bytes) }
  }

  saveReplica(doc: SyncedDoc, name: string, bytes: Uint8Array): void {
    this.#statements.saveReplica.run(doc, name, Buffer.from(bytes), Date.now())
  }

  syncState(peer: string, doc: SyncedDoc): Uint8Array | undefined {
    const state = this.#statements.syncState.get(peer, doc) as Buffer | undefined
    return state && new Uint8Array(state)
  }

  saveSyncState(peer: string, doc: SyncedDoc, state: Uint8Array): void {
    this.#statements.saveSyncState.run(peer, doc, Buffer.from(state), Date.now())
  }

  /** Forgets the sync states of a document (its replica was replaced, e.g. the device moved to another group). */
  forgetSyncStates(doc: SyncedDoc): void {
    this.#statements.deleteSyncState.run(doc)
  }

  applied(): AppliedRecord | undefined {
    const row = this.#statements.applied.get() as
      | { config: string; applied_heads: string; applied_at: number; status: 'applied' | 'rejected'; errors: string; pending_restart: string }
      | undefined
    return (
      row && {
        config: JSON.parse(row.config) as unknown,
        appliedHeads: JSON.parse(row.applied_heads) as Record<SyncedDoc, string[]>,
        appliedAt: row.applied_at,
        status: row.status,
        errors: JSON.parse(row.errors) as AppliedRecord['errors'],
        pendingRestart: JSON.parse(row.pending_restart) as string[],
      }
    )
  }

  saveApplied(record: AppliedRecord): void {
    this.#statements.saveApplied.run(JSON.stringify(record.config), JSON.stringify(record.appliedHeads), record.appliedAt, record.status, JSON.stringify(record.errors), JSON.stringify(record.pendingRestart))
  }
}
