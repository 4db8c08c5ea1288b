import type { AlertFilter, AlertInput, AlertRecord, AlertRepository } from './alert-repository.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { AlertSeverity } from '../../shared/protocol/alerts.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

interface AlertRow {
  id: number
  device_id: string
  seq: number
  raised_at: number
  received_at: number
  sensor_id: string
  metric: string
  severity: string
  rule: string
  value: number | null
  message: string
  acknowledged_at: number | null
  acknowledged_by: string | null
}

const toAlert = (row: AlertRow): AlertRecord => ({
  id: row.id,
  deviceId: row.device_id as DeviceId,
  seq: row.seq,
  raisedAt: row.raised_at,
  receivedAt: row.received_at,
  sensorId: row.sensor_id,
  metric: row.metric,
  severity: row.severity as AlertSeverity,
  rule: row.rule,
  value: row.value,
  message: row.message,
  acknowledgedAt: row.acknowledged_at,
  acknowledgedBy: row.acknowledged_by,
})

export class SqliteAlertRepository implements AlertRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async ingest(deviceId: DeviceId, alerts: readonly AlertInput[], receivedAt: number): Promise<{ accepted: number; duplicates: number; lastSeq: number }> {
    // ON CONFLICT DO NOTHING on (device_id, seq): a resent alert is stored once.
    const insert = this.db.prepare(
      `INSERT INTO alerts (device_id, seq, raised_at, received_at, sensor_id, metric, severity, rule, value, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, seq) DO NOTHING`,
    )
    const run = this.db.transaction(() => {
      let accepted = 0
      for (const a of alerts) {
        accepted += insert.run(deviceId, a.seq, a.raisedAt, receivedAt, a.sensorId, a.metric, a.severity, a.rule, a.value, a.message).changes
      }
      const last = this.db.prepare('SELECT max(seq) AS seq FROM alerts WHERE device_id = ?').get(deviceId) as { seq: number | null }
      return { accepted, duplicates: alerts.length - accepted, lastSeq: last.seq ?? 0 }
    })
    return run.immediate()
  }

  async list(filter: AlertFilter): Promise<AlertRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM alerts
         WHERE (@deviceId IS NULL OR device_id = @deviceId)
           AND (@severity IS NULL OR severity = @severity)
           AND (@acknowledged IS NULL OR (acknowledged_at IS NOT NULL) = @acknowledged)
           AND (@from IS NULL OR raised_at >= @from)
           AND (@to IS NULL OR raised_at < @to)
         ORDER BY raised_at DESC, id DESC LIMIT @limit`,
      )
      .all({
        deviceId: filter.deviceId ?? null,
        severity: filter.severity ?? null,
        acknowledged: filter.acknowledged === undefined ? null : filter.acknowledged ? 1 : 0,
        from: filter.from ?? null,
        to: filter.to ?? null,
        limit: filter.limit,
      }) as AlertRow[]
    return rows.map(toAlert)
  }

  async findById(id: number): Promise<AlertRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined
    return row && toAlert(row)
  }

  async acknowledge(id: number, by: string, at: number): Promise<boolean> {
    return this.db.prepare('UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND acknowledged_at IS NULL').run(at, by, id).changes === 1
  }
}
