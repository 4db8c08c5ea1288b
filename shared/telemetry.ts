/**
 * The MQTT telemetry contract shared by the edge, the simulator and the benchmarks.
 *
 * Sensors publish to `sensors/<sensorId>/<metric>` either one reading
 * `{"ts": <epoch ms>, "value": <number>}` or a batch `{"readings": [...]}`.
 * `ts` is optional: the broker receive time is used when it is absent.
 * The edge publishes alerts to `alerts/<sensorId>/<metric>`.
 */

export const TELEMETRY_TOPIC_PREFIX = 'sensors/'
export const ALERT_TOPIC_PREFIX = 'alerts/'

/** Sensor ids and metric names: 1-64 characters of A-Z a-z 0-9 _ - . : */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/

export interface TelemetryReading {
  /** Epoch milliseconds. */
  ts: number
  value: number
}

export interface SeriesKey {
  sensorId: string
  metric: string
}

export function telemetryTopic(sensorId: string, metric: string): string {
  return `${TELEMETRY_TOPIC_PREFIX}${sensorId}/${metric}`
}

export function alertTopic(sensorId: string, metric: string): string {
  return `${ALERT_TOPIC_PREFIX}${sensorId}/${metric}`
}

export function isTelemetryTopic(topic: string): boolean {
  return topic.startsWith(TELEMETRY_TOPIC_PREFIX)
}

/**
 * Splits a telemetry topic into its series key, or returns undefined when the
 * topic is under `sensors/` but not of the shape `sensors/<sensorId>/<metric>`.
 */
export function parseTelemetryTopic(topic: string): SeriesKey | undefined {
  const first = topic.indexOf('/')
  const second = topic.indexOf('/', first + 1)
  if (first < 0 || second < 0 || topic.indexOf('/', second + 1) !== -1) return undefined
  const sensorId = topic.slice(first + 1, second)
  const metric = topic.slice(second + 1)
  if (!IDENTIFIER_PATTERN.test(sensorId) || !IDENTIFIER_PATTERN.test(metric)) return undefined
  return { sensorId, metric }
}

/** Reason labels used for dead-lettered telemetry, one per EDGE_ERR_* ingest code. */
export const rejectReasons = {
  payload_too_large: 'EDGE_ERR_PAYLOAD_TOO_LARGE',
  malformed_json: 'EDGE_ERR_MALFORMED_JSON',
  invalid_shape: 'EDGE_ERR_INVALID_SHAPE',
  invalid_value: 'EDGE_ERR_INVALID_VALUE',
  non_finite_value: 'EDGE_ERR_NON_FINITE_VALUE',
  invalid_timestamp: 'EDGE_ERR_INVALID_TIMESTAMP',
  timestamp_out_of_range: 'EDGE_ERR_TIMESTAMP_OUT_OF_RANGE',
  too_many_readings: 'EDGE_ERR_TOO_MANY_READINGS',
  unknown_topic: 'EDGE_ERR_UNKNOWN_TOPIC',
} as const

export type RejectReason = keyof typeof rejectReasons
export const REJECT_REASONS = Object.keys(rejectReasons) as RejectReason[]
