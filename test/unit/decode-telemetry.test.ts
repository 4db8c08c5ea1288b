import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTelemetry, type TelemetryLimits } from '../../edge/ingest/decode-telemetry.js'
import { REJECT_REASONS, type RejectReason } from '../../shared/telemetry.js'

const NOW = 1_780_000_000_000
const limits: TelemetryLimits = {
  maxPayloadBytes: 64 * 1024,
  maxReadingsPerMessage: 5,
  maxFutureSkewMs: 60_000,
  maxPastAgeMs: 24 * 3600_000,
}

interface Outcome {
  readings: { ts: number; value: number }[]
  rejects: { reason: RejectReason; detail: string; count: number }[]
}

function decode(payload: string | Buffer, overrides: Partial<TelemetryLimits> = {}): Outcome {
  const outcome: Outcome = { readings: [], rejects: [] }
  decodeTelemetry(typeof payload === 'string' ? Buffer.from(payload) : payload, NOW, { ...limits, ...overrides }, {
    reading: (ts, value) => outcome.readings.push({ ts, value }),
    reject: (reason, detail, count) => outcome.rejects.push({ reason, detail, count }),
  })
  return outcome
}

function rejectedOnly(payload: string | Buffer, reason: RejectReason, count = 1, overrides: Partial<TelemetryLimits> = {}): string {
  const outcome = decode(payload, overrides)
  expect(outcome.readings).toEqual([])
  expect(outcome.rejects).toHaveLength(1)
  expect(outcome.rejects[0]).toMatchObject({ reason, count })
  return (outcome.rejects[0] as { detail: string }).detail
}

describe('decodeTelemetry: accepted payloads', () => {
  it('takes one reading with ts and value', () => {
    expect(decode('{"ts": 1779999999000, "value": 21.5}')).toEqual({ readings: [{ ts: 1779999999000, value: 21.5 }], rejects: [] })
  })

  it('uses the receive time when ts is absent', () => {
    expect(decode('{"value": -3}').readings).toEqual([{ ts: NOW, value: -3 }])
  })

  it('keeps negative zero, integers and extreme finite values', () => {
    const out = decode(`{"readings": [{"value": -0}, {"value": 1.7976931348623157e308}, {"value": 5e-324}, {"value": 7}]}`)
    expect(out.rejects).toEqual([])
    expect(Object.is(out.readings[0]?.value, -0)).toBe(true)
    expect(out.readings.map((r) => r.value).slice(1)).toEqual([Number.MAX_VALUE, Number.MIN_VALUE, 7])
  })

  it('takes a batch in order, each reading with its own or the receive timestamp', () => {
    const out = decode('{"readings": [{"ts": 1779999999001, "value": 1}, {"value": 2}, {"ts": 1779999999000, "value": 3}]}')
    expect(out).toEqual({
      readings: [
        { ts: 1779999999001, value: 1 },
        { ts: NOW, value: 2 },
        { ts: 1779999999000, value: 3 },
      ],
      rejects: [],
    })
  })

  it('ignores extra fields on readings and batches', () => {
    expect(decode('{"value": 1, "unit": "C"}').readings).toHaveLength(1)
    expect(decode('{"readings": [{"value": 1, "q": "good"}], "seq": 9}').readings).toHaveLength(1)
  })

  it('accepts a payload of exactly maxPayloadBytes', () => {
    const body = '{"value": 1}'
    const payload = body + ' '.repeat(100 - body.length)
    expect(decode(payload, { maxPayloadBytes: 100 }).readings).toHaveLength(1)
  })

  it('accepts a batch of exactly maxReadingsPerMessage', () => {
    const batch = JSON.stringify({ readings: Array.from({ length: 5 }, (_, i) => ({ value: i })) })
    expect(decode(batch).readings).toHaveLength(5)
  })

  it('accepts timestamps exactly at the future and past bounds', () => {
    expect(decode(JSON.stringify({ ts: NOW + limits.maxFutureSkewMs, value: 1 })).readings).toHaveLength(1)
    expect(decode(JSON.stringify({ ts: NOW - limits.maxPastAgeMs, value: 1 })).readings).toHaveLength(1)
  })

  it('accepts valid UTF-8 that contains U+FFFD itself', () => {
    expect(decode('{"value": 1, "note": "\uFFFD"}').readings).toHaveLength(1)
  })
})

describe('decodeTelemetry: each rejection reason', () => {
  it('payload_too_large: one byte over the limit, before parsing', () => {
    const detail = rejectedOnly(Buffer.alloc(101, 0x20), 'payload_too_large', 1, { maxPayloadBytes: 100 })
    expect(detail).toContain('101 bytes')
    expect(detail).toContain('ingest.maxPayloadBytes')
  })

  it.each([
    ['truncated JSON', '{"value": 1'],
    ['not JSON at all', 'hello'],
    ['empty payload', ''],
    ['a NaN literal', '{"value": NaN}'],
    ['an Infinity literal', '{"value": Infinity}'],
    ['single quotes', "{'value': 1}"],
    ['a trailing comma', '{"value": 1,}'],
  ])('malformed_json: %s', (_name, payload) => {
    rejectedOnly(payload, 'malformed_json')
  })

  it('malformed_json: invalid UTF-8 bytes', () => {
    const payload = Buffer.concat([Buffer.from('{"value": 1, "note": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
    expect(rejectedOnly(payload, 'malformed_json')).toContain('UTF-8')
  })

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"21.5"'],
    ['an array', '[{"value": 1}]'],
    ['an object without value or readings', '{"ts": 1779999999000}'],
    ['both value and readings', '{"value": 1, "readings": [{"value": 2}]}'],
    ['readings not an array', '{"readings": {"value": 1}}'],
    ['empty readings', '{"readings": []}'],
  ])('invalid_shape: %s', (_name, payload) => {
    rejectedOnly(payload, 'invalid_shape')
  })

  it.each([
    ['a string', '{"value": "21.5"}'],
    ['a boolean', '{"value": true}'],
    ['null', '{"value": null}'],
    ['an object', '{"value": {"v": 1}}'],
    ['an array', '{"value": [1]}'],
  ])('invalid_value: value is %s', (_name, payload) => {
    expect(rejectedOnly(payload, 'invalid_value')).toContain('value must be a number')
  })

  it.each([
    ['1e999', '{"value": 1e999}'],
    ['-1e999', '{"value": -1e999}'],
  ])('non_finite_value: %s overflows to Infinity', (_name, payload) => {
    expect(rejectedOnly(payload, 'non_finite_value')).toContain('Infinity')
  })

  it.each([
    ['a string', '{"ts": "2026-01-01T00:00:00Z", "value": 1}'],
    ['negative', '{"ts": -1, "value": 1}'],
    ['null', '{"ts": null, "value": 1}'],
    ['1e999', '{"ts": 1e999, "value": 1}'],
    ['a boolean', '{"ts": true, "value": 1}'],
  ])('invalid_timestamp: ts is %s', (_name, payload) => {
    rejectedOnly(payload, 'invalid_timestamp')
  })

  it('timestamp_out_of_range: one millisecond beyond the future skew', () => {
    const detail = rejectedOnly(JSON.stringify({ ts: NOW + limits.maxFutureSkewMs + 1, value: 1 }), 'timestamp_out_of_range')
    expect(detail).toContain('maxFutureSkewMs')
  })

  it('timestamp_out_of_range: absurdly far in the future (year 9999)', () => {
    rejectedOnly(JSON.stringify({ ts: Date.UTC(9999, 0, 1), value: 1 }), 'timestamp_out_of_range')
  })

  it('timestamp_out_of_range: one millisecond older than maxPastAgeMs', () => {
    const detail = rejectedOnly(JSON.stringify({ ts: NOW - limits.maxPastAgeMs - 1, value: 1 }), 'timestamp_out_of_range')
    expect(detail).toContain('maxPastAgeMs')
    expect(detail).not.toContain('epoch seconds')
  })

  it('timestamp_out_of_range: absurdly far in the past (1970) ', () => {
    rejectedOnly('{"ts": 0, "value": 1}', 'timestamp_out_of_range')
  })

  it('timestamp_out_of_range: epoch seconds instead of milliseconds gets a hint', () => {
    const detail = rejectedOnly(JSON.stringify({ ts: Math.floor(NOW / 1000), value: 1 }), 'timestamp_out_of_range')
    expect(detail).toContain('looks like epoch seconds')
  })

  it('too_many_readings: the whole batch is rejected and counted reading by reading', () => {
    const batch = JSON.stringify({ readings: Array.from({ length: 6 }, (_, i) => ({ value: i })) })
    const detail = rejectedOnly(batch, 'too_many_readings', 6)
    expect(detail).toContain('maxReadingsPerMessage')
  })

  it('invalid_shape: a batch item that is not an object', () => {
    expect(rejectedOnly('{"readings": [3]}', 'invalid_shape')).toContain('readings[0]')
  })
})

describe('decodeTelemetry: mixed batches', () => {
  it('stores the valid readings and groups the rejected ones by reason with counts', () => {
    const payload = JSON.stringify({
      readings: [{ value: 1 }, { value: 'x' }, 7, { value: 'y' }, { ts: -5, value: 2 }],
    })
    const out = decode(payload)
    expect(out.readings).toEqual([{ ts: NOW, value: 1 }])
    const byReason = Object.fromEntries(out.rejects.map((r) => [r.reason, r]))
    expect(Object.keys(byReason).sort()).toEqual(['invalid_shape', 'invalid_timestamp', 'invalid_value'])
    expect(byReason.invalid_value).toMatchObject({ count: 2 })
    expect(byReason.invalid_value?.detail).toMatch(/^2 readings, e\.g\. readings\[1\]\.value/)
    expect(byReason.invalid_shape).toMatchObject({ count: 1 })
    expect(byReason.invalid_shape?.detail).toContain('readings[2]')
    expect(byReason.invalid_timestamp?.detail).toContain('readings[4].ts')
  })

  it('rejects non-finite values inside a batch without losing the others', () => {
    const out = decode('{"readings": [{"value": 1e999}, {"value": 2}, {"value": -1e999}]}')
    expect(out.readings).toEqual([{ ts: NOW, value: 2 }])
    expect(out.rejects).toEqual([expect.objectContaining({ reason: 'non_finite_value', count: 2 })])
  })
})

describe('decodeTelemetry: properties', () => {
  const everyReading = (outcome: Outcome) => {
    for (const r of outcome.readings) {
      expect(Number.isFinite(r.value)).toBe(true)
      expect(r.ts).toBeGreaterThanOrEqual(NOW - limits.maxPastAgeMs)
      expect(r.ts).toBeLessThanOrEqual(NOW + limits.maxFutureSkewMs)
    }
    for (const r of outcome.rejects) {
      expect(REJECT_REASONS).toContain(r.reason)
      expect(r.count).toBeGreaterThanOrEqual(1)
      expect(typeof r.detail).toBe('string')
    }
    // Every payload has an outcome: something stored or something rejected.
    expect(outcome.readings.length + outcome.rejects.length).toBeGreaterThan(0)
  }

  it('never throws on arbitrary bytes, and every outcome is accounted for', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        everyReading(decode(Buffer.from(bytes)))
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on arbitrary JSON values and strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ unit: 'binary' }), fc.json()), (text) => {
        everyReading(decode(text))
      }),
      { numRuns: 2000 },
    )
  })

  it('accounts for every reading of a batch exactly once (stored or rejected)', () => {
    const anyReading = fc.oneof(
      fc.record({ ts: fc.integer({ min: NOW - 2 * limits.maxPastAgeMs, max: NOW + 2 * limits.maxFutureSkewMs }), value: fc.double() }),
      fc.record({ value: fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null)) }),
      fc.record({ ts: fc.anything(), value: fc.anything() }, { requiredKeys: [] }),
      fc.anything(),
    )
    fc.assert(
      fc.property(fc.array(anyReading, { minLength: 1, maxLength: limits.maxReadingsPerMessage }), (items) => {
        // JSON.stringify turns NaN/Infinity into null, as a sensor's JSON encoder would.
        const outcome = decode(JSON.stringify({ readings: items }))
        everyReading(outcome)
        const rejected = outcome.rejects.reduce((n, r) => n + r.count, 0)
        expect(outcome.readings.length + rejected).toBe(items.length)
        // One rejection entry per reason at most.
        expect(new Set(outcome.rejects.map((r) => r.reason)).size).toBe(outcome.rejects.length)
      }),
      { numRuns: 1000 },
    )
  })
})
