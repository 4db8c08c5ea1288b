import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { AuditEntry, AuditRepository, SignedAuditHead } from './audit-repository.js'

interface AuditRow {
  seq: number
  ts: number
  actor: string
  action: string
  target: string
  details: string
  prev_hash: string
  hash: string
}

const toAuditEntry = (row: AuditRow): AuditEntry => ({
  seq: row.seq,
  ts: row.ts,
  actor: row.actor,
  action: row.action,
  target: row.target,
  details: JSON.parse(row.details) as Record<string, unknown>,
  prevHash: row.prev_hash,
  hash: row.hash,
})

export class SqliteAuditRepository implements AuditRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async append(seal: (previous: AuditEntry | undefined) => { entry: AuditEntry; head: SignedAuditHead }): Promise<AuditEntry> {
    // IMMEDIATE takes the write lock before reading the last entry, so two
    // writers (two hub processes on one file) cannot both extend the same head.
    const run = this.db.transaction(() => {
      const last = this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditRow | undefined
      const { entry, head } = seal(last && toAuditEntry(last))
      this.db
        .prepare('INSERT INTO audit_log (seq, ts, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(entry.seq, entry.ts, entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.prevHash, entry.hash)
      this.db
        .prepare('INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature')
        .run(head.seq, head.hash, head.signature)
      return entry
    })
    return run.immediate()
  }

  async list(options: { afterSeq?: number; limit: number; order?: 'asc' | 'desc' }): Promise<AuditEntry[]> {
    const order = options.order === 'desc' ? 'DESC' : 'ASC'
    const rows = this.db
      .prepare(`SELECT * FROM audit_log WHERE seq > ? ORDER BY seq ${order} LIMIT ?`)
      .all(options.afterSeq ?? 0, options.limit) as AuditRow[]
    return rows.map(toAuditEntry)
  }

  async all(): Promise<AuditEntry[]> {
    return (this.db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditRow[]).map(toAuditEntry)
  }

  async head(): Promise<SignedAuditHead | undefined> {
    const row = this.db.prepare('SELECT seq, hash, signature FROM audit_head WHERE id = 1').get() as SignedAuditHead | undefined
    return row && { seq: row.seq, hash: row.hash, signature: row.signature }
  }
}
