import { Type, type SchemaOptions, type Static, type TLiteral, type TUnion } from '@sinclair/typebox'
import { canonicalJson } from '../canonical-json.js'
import { defineExchange } from './exchange.js'
import { ContentSha256Schema, sha256Hex, StreamEpochSchema } from './upload-stream.js'

/** Alerts raised on the device, forwarded in batches; the hub de-duplicates by content and keys by (device, epoch, seq). */
export const ALERTS_PATH = '/v1/devices/me/alerts'

/** The one list of alert severities: rules (edge config), the edge's alert store and the hub all take it from here. */
export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number]

/** The severity schema, with options (a default, a description) where a caller needs them. */
export const alertSeveritySchema = (options: SchemaOptions = {}): TUnion<TLiteral<AlertSeverity>[]> => Type.Union(ALERT_SEVERITIES.map((severity) => Type.Literal(severity)), options)

/** An alert as the edge forwards it; `seq` is the hub's dedup key. */
export const AlertReport = Type.Object(
  {
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "The edge's own increasing alert sequence number, never reused: (device, seq) identifies an alert" }),
    raisedAt: Type.Integer({ minimum: 0, description: 'When the edge raised it, epoch ms' }),
    sensorId: Type.String({ minLength: 1, maxLength: 128 }),
    metric: Type.String({ minLength: 1, maxLength: 128 }),
    severity: alertSeveritySchema(),
    rule: Type.String({ minLength: 1, maxLength: 256, description: 'Which rule or model raised it' }),
    // Null first: with type coercion on, ajv would turn null into 0 in a number branch tried first.
    value: Type.Union([Type.Null(), Type.Number()], { description: 'The value that triggered it (null when there is none, e.g. missing data)' }),
    message: Type.String({ maxLength: 2000 }),
    contentSha256: Type.Optional(ContentSha256Schema),
  },
  { additionalProperties: false },
)
export type AlertReport = Static<typeof AlertReport>

/** The wire fields of an alert (its content), taken from any record that carries them (the edge's stored alert, the hub's record): bookkeeping and the content hash stay behind. */
export const alertReportOf = (alert: AlertReport): AlertReport => ({
  seq: alert.seq,
  raisedAt: alert.raisedAt,
  sensorId: alert.sensorId,
  metric: alert.metric,
  severity: alert.severity,
  rule: alert.rule,
  value: alert.value,
  message: alert.message,
})

/** sha256 of an alert's canonical JSON (its wire fields, shared/canonical-json.ts): what `contentSha256` carries. */
export const alertContentSha256 = (alert: AlertReport): string => sha256Hex(canonicalJson(alertReportOf(alert)))

export const AlertsBody = Type.Object({ epoch: Type.Optional(StreamEpochSchema), alerts: Type.Array(AlertReport, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false })
export type AlertsBody = Static<typeof AlertsBody>

export const AlertsAnswer = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'Alerts stored by this request' }),
  duplicates: Type.Integer({ minimum: 0, description: 'Alerts the hub already holds (same content from this device, in any epoch): not stored again' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'The highest seq the hub holds for this device in this stream epoch' }),
})
export type AlertsAnswer = Static<typeof AlertsAnswer>

export const alertsExchange = defineExchange({ name: 'alerts', method: 'POST', path: ALERTS_PATH, status: 200, body: AlertsBody, answer: AlertsAnswer })
