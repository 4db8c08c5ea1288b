import type { ConfigDocKind, ConfigRepository, StoredConfigDocument } from './config-repository.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { ConfigReport } from '../../shared/protocol/config-sync.js'

interface DocumentRow {
  doc_id: string
  kind: string
  name: string
  bytes: Buffer
  heads: string
  updated_at: number
}

/** Config documents, sync states and reports in the hub database (migration 5). */
export class SqliteConfigRepository implements ConfigRepository {
  readonly #statements

  constructor(db: SqliteDatabase) {
    this.#statements = {
      findDocument: db.prepare('SELECT * FROM config_documents WHERE doc_id = ?'),
      saveDocument: db.prepare(
        'INSERT INTO config_documents (doc_id, kind, name, bytes, heads, updated_at) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, updated_at = excluded.updated_at',
      ),
      findSyncState: db.prepare('SELECT state FROM config_sync_states WHERE peer = ? AND doc_id = ?').pluck(),
      saveSyncState: db.prepare(
        'INSERT INTO config_sync_states (peer, doc_id, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (peer, doc_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      ),
      saveReport: db.prepare(
        'INSERT INTO config_reported (device_id, report, reported_at) VALUES (?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET report = excluded.report, reported_at = excluded.reported_at',
      ),
      findReport: db.prepare('SELECT report, reported_at FROM config_reported WHERE device_id = ?'),
      // The report is stored whole (errors included): json_array_length picks the ones with errors without parsing the rest.
      reportsWithErrors: db.prepare("SELECT device_id, report, reported_at FROM config_reported WHERE json_array_length(report, '$.errors') > 0 ORDER BY device_id"),
    }
  }

  async findDocument(docId: string): Promise<StoredConfigDocument | undefined> {
    const row = this.#statements.findDocument.get(docId) as DocumentRow | undefined
    return (
      row && {
        docId: row.doc_id,
        kind: row.kind as ConfigDocKind,
        name: row.name,
        bytes: new Uint8Array(row.bytes),
        heads: JSON.parse(row.heads) as string[],
        updatedAt: row.updated_at,
      }
    )
  }

  async saveDocument(doc: StoredConfigDocument): Promise<void> {
    this.#statements.saveDocument.run(doc.docId, doc.kind, doc.name, Buffer.from(doc.bytes), JSON.stringify(doc.heads), doc.updatedAt)
  }

  async findSyncState(peer: string, docId: string): Promise<Uint8Array | undefined> {
    const state = this.#statements.findSyncState.get(peer, docId) as Buffer | undefined
    return state && new Uint8Array(state)
  }

  async saveSyncState(peer: string, docId: string, state: Uint8Array, at: number): Promise<void> {
    this.#statements.saveSyncState.run(peer, docId, Buffer.from(state), at)
  }

  async saveReport(deviceId: DeviceId, report: ConfigReport, at: number): Promise<void> {
    this.#statements.saveReport.run(deviceId, JSON.stringify(report), at)
  }

  async findReport(deviceId: DeviceId): Promise<{ report: ConfigReport; reportedAt: number } | undefined> {
    const row = this.#statements.findReport.get(deviceId) as { report: string; reported_at: number } | undefined
    return row && { report: JSON.parse(row.report) as ConfigReport, reportedAt: row.reported_at }
  }

  async reportsWithErrors(): Promise<{ deviceId: DeviceId; report: ConfigReport; reportedAt: number }[]> {
    const rows = this.#statements.reportsWithErrors.all() as { device_id: string; report: string; reported_at: number }[]
    return rows.map((row) => ({ deviceId: row.device_id as DeviceId, report: JSON.parse(row.report) as ConfigReport, reportedAt: row.reported_at }))
  }
}
