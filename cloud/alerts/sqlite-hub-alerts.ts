import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { AlertSeverity } from '../../shared/protocol/alerts.js'
import type { HubAlertCondition, HubAlertFilter, HubAlertRecord, HubAlertRepository, HubAlertSource } from './hub-alert-repository.js'

interface HubAlertRow {
  id: number
  source: string
  kind: string
  subject: string
  severity: string
  message: string
  raised_at: number
  cleared_at: number | null
}

const toHubAlert = (row: HubAlertRow): HubAlertRecord => ({
  id: row.id,
  source: row.source as HubAlertSource,
  kind: row.kind,
  subject: row.subject,
  severity: row.severity as AlertSeverity,
  message: row.message,
  raisedAt: row.raised_at,
  clearedAt: row.cleared_at,
})

const keyOf = (c: { kind: string; subject: string }) => `${c.kind}\u0000${c.subject}`

/** Hub-side alerts in the hub database (migration 7). */
export class SqliteHubAlertRepository implements HubAlertRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async reconcile(source: HubAlertSource, conditions: readonly HubAlertCondition[], now: number): Promise<{ raised: HubAlertRecord[]; cleared: HubAlertRecord[] }> {
    const wanted = new Map(conditions.map((c) => [keyOf(c), c] as const))
    // IMMEDIATE: read the open alerts and change them under the write lock, so
    // two evaluators (two hub processes) cannot both raise the same violation.
    const run = this.db.transaction(() => {
      const open = (this.db.prepare('SELECT * FROM hub_alerts WHERE source = ? AND cleared_at IS NULL').all(source) as HubAlertRow[]).map(toHubAlert)
      const openKeys = new Set(open.map(keyOf))
      const clear = this.db.prepare('UPDATE hub_alerts SET cleared_at = ? WHERE id = ?')
      const cleared: HubAlertRecord[] = []
      for (const alert of open) {
        if (wanted.has(keyOf(alert))) continue
        clear.run(now, alert.id)
        cleared.push({ ...alert, clearedAt: now })
      }
      const insert = this.db.prepare('INSERT INTO hub_alerts (source, kind, subject, severity, message, raised_at) VALUES (?, ?, ?, ?, ?, ?)')
      const raised: HubAlertRecord[] = []
      for (const [key, c] of wanted) {
        if (openKeys.has(key)) continue
        const id = Number(insert.run(source, c.kind, c.subject, c.severity, c.message, now).lastInsertRowid)
        raised.push({ id, source, kind: c.kind, subject: c.subject, severity: c.severity, message: c.message, raisedAt: now, clearedAt: null })
      }
      return { raised, cleared }
    })
    return run.immediate()
  }

  async list(filter: HubAlertFilter): Promise<HubAlertRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM hub_alerts
         WHERE (@source IS NULL OR source = @source)
           AND (@open IS NULL OR (cleared_at IS NULL) = @open)
         ORDER BY raised_at DESC, id DESC LIMIT @limit`,
      )
      .all({ source: filter.source ?? null, open: filter.open === undefined ? null : filter.open ? 1 : 0, limit: filter.limit }) as HubAlertRow[]
    return rows.map(toHubAlert)
  }
}
