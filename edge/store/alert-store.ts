import { EventEmitter } from 'node:events'
import { IDENTIFIER_PATTERN } from '../../shared/telemetry.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { ALERT_SEVERITIES, type AlertReport, type AlertSeverity } from '../../shared/protocol/alerts.js'

/** What the rules engine raises. */
export interface NewAlert {
  sensorId: string
  metric: string
  severity: AlertSeverity
  /** Name of the rule (or model) that fired. */
  rule: string
  /** The value that triggered it. */
  value: number
  message: string
  /** Epoch ms; now when omitted. */
  raisedAt?: number
}

/** An alert as stored: `seq` is the device's sequence number, the hub's dedup key. */
export interface StoredAlert extends AlertReport {
  /** Local alerts always carry the value that triggered them. */
  value: number
  /** Epoch ms the hub acknowledged it; null while not forwarded. */
  forwardedAt: number | null
  /** Epoch ms the incident ended (the rule's clear level was reached); null while it lasts (migration 4). */
  clearedAt: number | null
}

export const MAX_ALERT_MESSAGE_LENGTH = 1000
export const MAX_RULE_NAME_LENGTH = 128

interface AlertRow {
  seq: number
  raised_at: number
  sensor_id: string
  metric: string
  severity: AlertSeverity
  rule: string
  value: number
  message: string
  forwarded_at: number | null
  cleared_at: number | null
}

const fromRow = (r: AlertRow): StoredAlert => ({
  seq: r.seq,
  raisedAt: r.raised_at,
  sensorId: r.sensor_id,
  metric: r.metric,
  severity: r.severity,
  rule: r.rule,
  value: r.value,
  message: r.message,
  forwardedAt: r.forwarded_at,
  clearedAt: r.cleared_at ?? null,
})

/**
 * Alerts raised at the edge (by the rules engine), kept in the edge database
 * with a forwarded mark. Raising is local and synchronous: it never waits for
 * the hub. Emits `raised` so the hub link can forward promptly.
 */
export class AlertStore extends EventEmitter<{ raised: [StoredAlert] }> {
  readonly #insert
  readonly #unforwarded
  readonly #markForwarded
  readonly #list
  readonly #counts
  readonly #clear

  constructor(db: SqliteDatabase, private readonly clock: () => number = Date.now) {
    super()
    this.#insert = db.prepare(
      'INSERT INTO alerts (raised_at, sensor_id, metric, severity, rule, value, message) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
    )
    this.#unforwarded = db.prepare('SELECT * FROM alerts WHERE forwarded_at IS NULL ORDER BY seq LIMIT ?')
    this.#markForwarded = db.prepare('UPDATE alerts SET forwarded_at = ? WHERE seq >= ? AND seq <= ? AND forwarded_at IS NULL')
    this.#list = db.prepare('SELECT * FROM alerts ORDER BY seq DESC LIMIT ?')
    this.#counts = db.prepare('SELECT count(*) AS total, count(*) - count(forwarded_at) AS pending FROM alerts')
    this.#clear = db.prepare('UPDATE alerts SET cleared_at = ? WHERE seq = ? AND cleared_at IS NULL')
  }

  /** Stores an alert and returns it with its sequence number. Throws a TypeError naming a bad field. */
  raise(alert: NewAlert): StoredAlert {
    checkAlert(alert)
    const row = this.#insert.get(
      alert.raisedAt ?? this.clock(),
      alert.sensorId,
      alert.metric,
      alert.severity,
      alert.rule,
      alert.value,
      alert.message,
    ) as AlertRow
    const stored = fromRow(row)
    this.emit('raised', stored)
    return stored
  }

  /** Records that the incident behind alert `seq` ended. False if unknown or already cleared. */
  clear(seq: number, at = this.clock()): boolean {
    return this.#clear.run(at, seq).changes === 1
  }

  /** The oldest alerts not yet acknowledged by the hub, in seq order. */
  unforwarded(limit: number): StoredAlert[] {
    return (this.#unforwarded.all(limit) as AlertRow[]).map(fromRow)
  }

  /** Marks seqs `fromSeq..toSeq` forwarded (after the hub's 200). */
  markForwarded(fromSeq: number, toSeq: number, at = this.clock()): number {
    return this.#markForwarded.run(at, fromSeq, toSeq).changes
  }

  /** The newest alerts first. */
  list(limit: number): StoredAlert[] {
    return (this.#list.all(limit) as AlertRow[]).map(fromRow)
  }

  counts(): { total: number; pending: number } {
    return this.#counts.get() as { total: number; pending: number }
  }
}

function checkAlert(alert: NewAlert): void {
  const fail = (field: string, what: string) => {
    throw new TypeError(`alert ${field} ${what}`)
  }
  if (!IDENTIFIER_PATTERN.test(alert.sensorId)) fail('sensorId', `must match ${IDENTIFIER_PATTERN.source}`)
  if (!IDENTIFIER_PATTERN.test(alert.metric)) fail('metric', `must match ${IDENTIFIER_PATTERN.source}`)
  if (!(ALERT_SEVERITIES as readonly string[]).includes(alert.severity)) fail('severity', `must be one of ${ALERT_SEVERITIES.join(', ')}`)
  if (alert.rule.length < 1 || alert.rule.length > MAX_RULE_NAME_LENGTH) fail('rule', `must be 1-${MAX_RULE_NAME_LENGTH} characters`)
  if (!Number.isFinite(alert.value)) fail('value', 'must be a finite number')
  if (alert.message.length < 1 || alert.message.length > MAX_ALERT_MESSAGE_LENGTH) fail('message', `must be 1-${MAX_ALERT_MESSAGE_LENGTH} characters`)
  if (alert.raisedAt !== undefined && !(Number.isInteger(alert.raisedAt) && alert.raisedAt >= 0)) fail('raisedAt', 'must be epoch milliseconds')
}
