import type { RejectReason } from '../../shared/telemetry.js'
import { ScannedReadings, scanTelemetry } from './fast-telemetry-scanner.js'

/** Limits applied to every telemetry payload (from the `ingest` config section). */
export interface TelemetryLimits {
  maxPayloadBytes: number
  maxReadingsPerMessage: number
  maxFutureSkewMs: number
  maxPastAgeMs: number
}

/** Receives the outcome of decoding one payload, reading by reading. */
export interface TelemetrySink {
  reading(ts: number, value: number): void
  /** `count` readings were rejected for `reason`; `detail` says why (first example). */
  reject(reason: RejectReason, detail: string, count: number): void
}

/**
 * Decodes and validates one telemetry payload published to
 * `sensors/<sensorId>/<metric>`. Valid readings go to `sink.reading`; invalid
 * ones to `sink.reject`, grouped by reason. A payload that cannot be read at
 * all (too large, not JSON, wrong shape) is one rejected reading. Pure: no I/O,
 * no clock (the receive time is passed in), never throws.
 */
export function decodeTelemetry(payload: Buffer, receivedAt: number, limits: TelemetryLimits, sink: TelemetrySink): void {
  // Oversize payloads, and anything the fast path does not take whole, go the
  // general way (which also rejects oversize payloads first).
  const fast =
    payload.byteLength <= limits.maxPayloadBytes &&
    scanTelemetry(payload, scanned, limits.maxReadingsPerMessage) &&
    emitIfAllValid(scanned, receivedAt, limits, sink)
  if (!fast) decodeTelemetryViaJson(payload, receivedAt, limits, sink)
}

/**
 * The general path: JSON.parse, then validation reading by reading with
 * detailed rejection reasons. `decodeTelemetry` gives the same result for
 * every payload (property-tested); exported for that test.
 */
export function decodeTelemetryViaJson(payload: Buffer, receivedAt: number, limits: TelemetryLimits, sink: TelemetrySink): void {
  if (payload.byteLength > limits.maxPayloadBytes) {
    sink.reject('payload_too_large', `payload is ${payload.byteLength} bytes; ingest.maxPayloadBytes is ${limits.maxPayloadBytes}`, 1)
    return
  }
  let body: unknown
  try {
    // toString('utf8') replaces invalid sequences instead of failing; the
    // replacement character then makes JSON.parse fail inside strings only,
    // so check the encoding explicitly.
    const text = payload.toString('utf8')
    if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(payload)) throw new Error('payload is not valid UTF-8')
    body = JSON.parse(text)
  } catch (err) {
    sink.reject('malformed_json', (err as Error).message.slice(0, 200), 1)
    return
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    sink.reject('invalid_shape', `expected a JSON object, got ${describe(body)}`, 1)
    return
  }
  const record = body as Record<string, unknown>
  const readings = record.readings
  if (readings === undefined) {
    if (!('value' in record)) {
      sink.reject('invalid_shape', 'object has neither "value" nor "readings"', 1)
      return
    }
    decodeOne(record, '', receivedAt, limits, new RejectCollector(sink), sink)?.flush()
    return
  }
  if ('value' in record) {
    sink.reject('invalid_shape', 'object has both "value" and "readings"; send one reading or a batch', 1)
    return
  }
  if (!Array.isArray(readings) || readings.length === 0) {
    sink.reject('invalid_shape', `"readings" must be a non-empty array, got ${describe(readings)}`, 1)
    return
  }
  if (readings.length > limits.maxReadingsPerMessage) {
    sink.reject(
      'too_many_readings',
      `batch has ${readings.length} readings; ingest.maxReadingsPerMessage is ${limits.maxReadingsPerMessage}`,
      readings.length,
    )
    return
  }
  const rejects = new RejectCollector(sink)
  for (let i = 0; i < readings.length; i++) {
    const item: unknown = readings[i]
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      rejects.add('invalid_shape', `readings[${i}] must be an object, got ${describe(item)}`)
      continue
    }
    decodeOne(item as Record<string, unknown>, `readings[${i}].`, receivedAt, limits, rejects, sink)
  }
  rejects.flush()
}

/** Reused between calls: decoding is synchronous and single-threaded. */
const scanned = new ScannedReadings()

/**
 * The fast path's readings, emitted only when every one is valid; otherwise
 * nothing is emitted and the JSON.parse path redoes the payload with
 * per-reading rejection details.
 */
function emitIfAllValid(readings: ScannedReadings, receivedAt: number, limits: TelemetryLimits, sink: TelemetrySink): boolean {
  const { timestamps, values, hasTs, count } = readings
  const earliest = receivedAt - limits.maxPastAgeMs
  const latest = receivedAt + limits.maxFutureSkewMs
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(values[i] as number)) return false
    if (hasTs[i] === 1) {
      const ts = timestamps[i] as number
      if (!(ts >= 0 && ts >= earliest && ts <= latest)) return false
    }
  }
  for (let i = 0; i < count; i++) sink.reading(hasTs[i] === 1 ? (timestamps[i] as number) : receivedAt, values[i] as number)
  return true
}

function decodeOne(
  item: Record<string, unknown>,
  where: string,
  receivedAt: number,
  limits: TelemetryLimits,
  rejects: RejectCollector,
  sink: TelemetrySink,
): RejectCollector {
  const value = item.value
  if (typeof value !== 'number') {
    rejects.add('invalid_value', `${where}value must be a number, got ${describe(value)}`)
    return rejects
  }
  // JSON has no NaN/Infinity literals, but 1e999 parses to Infinity.
  if (!Number.isFinite(value)) {
    rejects.add('non_finite_value', `${where}value is not finite (${String(value)})`)
    return rejects
  }
  const rawTs = item.ts
  let ts = receivedAt
  if (rawTs !== undefined) {
    if (typeof rawTs !== 'number' || !Number.isFinite(rawTs) || rawTs < 0) {
      rejects.add('invalid_timestamp', `${where}ts must be a non-negative number of epoch milliseconds, got ${describe(rawTs)}`)
      return rejects
    }
    ts = rawTs
    if (ts > receivedAt + limits.maxFutureSkewMs) {
      rejects.add('timestamp_out_of_range', `${where}ts ${ts} is ${Math.round((ts - receivedAt) / 1000)} s ahead of the edge clock (ingest.maxFutureSkewMs is ${limits.maxFutureSkewMs})`)
      return rejects
    }
    if (ts < receivedAt - limits.maxPastAgeMs) {
      // A common sensor bug: epoch seconds instead of milliseconds.
      const hint = Math.abs(ts * 1000 - receivedAt) < limits.maxPastAgeMs + limits.maxFutureSkewMs ? ' (looks like epoch seconds; send milliseconds)' : ''
      rejects.add('timestamp_out_of_range', `${where}ts ${ts} is older than ingest.maxPastAgeMs (${limits.maxPastAgeMs} ms)${hint}`)
      return rejects
    }
  }
  sink.reading(ts, value)
  return rejects
}

/** Groups a payload's rejected readings by reason, keeping the first detail of each. */
class RejectCollector {
  readonly #sink: TelemetrySink
  #byReason: Map<RejectReason, { detail: string; count: number }> | undefined

  constructor(sink: TelemetrySink) {
    this.#sink = sink
  }

  add(reason: RejectReason, detail: string): void {
    this.#byReason ??= new Map()
    const entry = this.#byReason.get(reason)
    if (entry === undefined) this.#byReason.set(reason, { detail, count: 1 })
    else entry.count++
  }

  flush(): void {
    if (this.#byReason === undefined) return
    for (const [reason, { detail, count }] of this.#byReason) {
      this.#sink.reject(reason, count > 1 ? `${count} readings, e.g. ${detail}` : detail, count)
    }
    this.#byReason = undefined
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 40))})`
  if (typeof value === 'object') return 'an object'
  if (value === undefined) return 'nothing'
  return `${typeof value} ${String(value)}`
}
