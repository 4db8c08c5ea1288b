import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTelemetry, decodeTelemetryViaJson, type TelemetryLimits, type TelemetrySink } from '../../edge/ingest/decode-telemetry.js'
import { ScannedReadings, scanTelemetry } from '../../edge/ingest/fast-telemetry-scanner.js'

const NOW = 1_795_000_000_000
const limits: TelemetryLimits = { maxPayloadBytes: 65_536, maxReadingsPerMessage: 50, maxFutureSkewMs: 3_600_000, maxPastAgeMs: 90 * 86_400_000 }

type Outcome = { readings: [number, number][]; rejects: [string, number][] }

function run(decode: typeof decodeTelemetry, payload: Buffer): Outcome {
  const outcome: Outcome = { readings: [], rejects: [] }
  const sink: TelemetrySink = {
    reading: (ts, value) => outcome.readings.push([ts, value]),
    reject: (reason, _detail, count) => outcome.rejects.push([reason, count]),
  }
  decode(payload, NOW, limits, sink)
  return outcome
}

/** Compares readings bit-exactly (Object.is keeps -0 apart from 0). */
function expectSameOutcome(payload: Buffer): void {
  const fast = run(decodeTelemetry, payload)
  const slow = run(decodeTelemetryViaJson, payload)
  expect(fast.rejects).toEqual(slow.rejects)
  expect(fast.readings.length).toBe(slow.readings.length)
  fast.readings.forEach(([ts, value], i) => {
    expect(Object.is(ts, slow.readings[i]![0])).toBe(true)
    expect(Object.is(value, slow.readings[i]![1])).toBe(true)
  })
}

describe('fast telemetry scanner', () => {
  it('reads both payload forms into columns', () => {
    const out = new ScannedReadings()
    expect(scanTelemetry(Buffer.from('{"ts":1700000000000,"value":21.5}'), out, 10)).toBe(true)
    expect([out.count, out.timestamps[0], out.values[0], out.hasTs[0]]).toEqual([1, 1700000000000, 21.5, 1])
    expect(scanTelemetry(Buffer.from(' { "readings" : [ {"value":-0.25}, {"value":3e2,"ts":5} ] } '), out, 10)).toBe(true)
    expect(out.count).toBe(2)
    expect([out.values[0], out.hasTs[0], out.values[1], out.timestamps[1]]).toEqual([-0.25, 0, 300, 5])
  })

  it('gives up on anything outside its subset', () => {
    const out = new ScannedReadings()
    for (const text of [
      '{"value":1,"unit":"C"}',
      '{"value":"1"}',
      '{"value":01}',
      '{"value":1.}',
      '{"value":1,"value":2}',
      '{"readings":[]}',
      '{"readings":[{"value":1},]}',
      '{"t\\u0073":1,"value":2}',
      '{"value":1}x',
      '{"ts":1}',
      '[1]',
      '',
    ]) {
      expect(scanTelemetry(Buffer.from(text), out, 10), text).toBe(false)
    }
  })

  it('stops at maxReadings so the slow path can reject the batch', () => {
    const batch = JSON.stringify({ readings: Array.from({ length: 51 }, (_, i) => ({ value: i })) })
    expect(run(decodeTelemetry, Buffer.from(batch)).rejects).toEqual([['too_many_readings', 51]])
  })

  it('parses numbers exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (value) => {
        const text = JSON.stringify({ value })
        const out = new ScannedReadings()
        if (scanTelemetry(Buffer.from(text), out, 10)) expect(Object.is(out.values[0], JSON.parse(text).value)).toBe(true)
      }),
      { numRuns: 5000 },
    )
    for (const literal of ['0', '-0', '0.1', '123456789012345', '1234567890123456789', '9007199254740993', '1.7976931348623157e308', '5e-324', '0.30000000000000004', '1E+2', '-12.5e-3']) {
      const text = `{"value":${literal}}`
      const out = new ScannedReadings()
      expect(scanTelemetry(Buffer.from(text), out, 10)).toBe(true)
      expect(Object.is(out.values[0], JSON.parse(text).value)).toBe(true)
    }
  })

  it('agrees with the JSON.parse path on generated payloads, valid or not', () => {
    const number = fc.oneof(
      fc.double(),
      fc.integer({ min: NOW - 100 * 86_400_000, max: NOW + 7_200_000 }),
      fc.constantFrom(0, -0, 1e999, -1e999),
    )
    const numberText = fc.oneof(
      number.map((n) => (Number.isFinite(n) ? JSON.stringify(n) : n > 0 ? '1e999' : '-1e999')),
      fc.constantFrom('01', '1.', '"3"', 'null', 'true', '-', '1e', '.5'),
    )
    const reading = fc
      .record({ ts: fc.option(numberText, { nil: undefined }), value: fc.option(numberText, { nil: undefined }), order: fc.boolean() })
      .map(({ ts, value, order }) => {
        const parts = [ts === undefined ? undefined : `"ts":${ts}`, value === undefined ? undefined : `"value":${value}`].filter(Boolean)
        return `{${(order ? parts : parts.reverse()).join(',')}}`
      })
    const payload = fc.oneof(reading, fc.array(reading, { minLength: 0, maxLength: 60 }).map((rs) => `{"readings":[${rs.join(',')}]}`), fc.string())
    fc.assert(
      fc.property(payload, (text) => expectSameOutcome(Buffer.from(text))),
      { numRuns: 3000 },
    )
  })

  it('agrees with the JSON.parse path on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => expectSameOutcome(Buffer.from(bytes))),
      { numRuns: 2000 },
    )
  })
})
