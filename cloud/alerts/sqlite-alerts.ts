import type { AlertFilter, AlertInput, AlertRecord, AlertRepository } from './alert-repository.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { AlertSeverity } from '../../shared/protocol/alerts.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { CloudosError } from '../../shared/errors.js'
import { INITIAL_STREAM_EPOCH } from '../../shared/protocol/upload-stream.js'

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

  async ingest(deviceId: DeviceId, alerts: readonly AlertInput[], receivedAt: number, epoch = INITIAL_STREAM_EPOCH): Promise<{ accepted: number; duplicates: number; lastSeq: number; newEpoch?: true }> {
    const insert = this.db.prepare(
      `INSERT INTO alerts (device_id, epoch, seq, content_sha256, raised_at, received_at, sensor_id, metric, severity, rule, value, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const byContent = this.db.prepare('SELECT 1 FROM alerts WHERE device_id = ? AND content_sha256 = ? LIMIT 1').pluck()
    const byKey = this.db.prepare('SELECT content_sha256 FROM alerts WHERE device_id = ? AND epoch = ? AND seq = ?')
    const run = this.db.transaction(() => {
      let accepted = 0
      for (const a of alerts) {
        const hash = a.contentSha256 ?? null
        if (hash !== null && byContent.get(deviceId, hash) !== undefined) continue
        const held = byKey.get(deviceId, epoch, a.seq) as { content_sha256: string | null } | undefined
        if (held !== undefined) {
          if (held.content_sha256 === null || hash === null || held.content_sha256 === hash) continue
          // Rolls the whole request back: the device starts a new epoch and sends it again.
          throw new CloudosError('HUB_ERR_STREAM_CONFLICT', `alert ${a.seq} of stream epoch ${epoch} is already held with other content: start a new stream epoch`, {
            epoch,
            seq: a.seq,
            heldSha256: held.content_sha256,
            sentSha256: hash,
          })
        }
        accepted += insert.run(deviceId, epoch, a.seq, hash, a.raisedAt, receivedAt, a.sensorId, a.metric, a.severity, a.rule, a.value, a.message).changes
      }
      const last = this.db.prepare('SELECT max(seq) AS seq FROM alerts WHERE device_id = ? AND epoch = ?').get(deviceId, epoch) as { seq: number | null }
      const added = accepted > 0 && this.db.prepare('INSERT OR IGNORE INTO device_stream_epochs (device_id, epoch, first_seen_at) VALUES (?, ?, ?)').run(deviceId, epoch, receivedAt).changes === 1
      const newEpoch = added && (this.db.prepare('SELECT count(*) FROM device_stream_epochs WHERE device_id = ?').pluck().get(deviceId) as number) > 1
      return { accepted, duplicates: alerts.length - accepted, lastSeq: last.seq ?? 0, ...(newEpoch ? { newEpoch: true as const } : {}) }
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
