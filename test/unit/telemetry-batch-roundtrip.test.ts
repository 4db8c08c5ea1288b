import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { batchReadingCount, decodeBatch, encodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { columnBytes, expectSameBatch, telemetryBatch } from '../helpers/telemetry-batch-arbitraries.js'

function roundTrip(batch: TelemetryBatch, level?: number): TelemetryBatch {
  return decodeBatch(encodeBatch(batch, level === undefined ? {} : { level }))
}

function words(high: number, low: number): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setUint32(0, low, true)
  view.setUint32(4, high, true)
  return view.getFloat64(0, true)
}

describe('telemetry batch codec: bit-exact round trip', () => {
  it('round-trips random and adversarial batches bit for bit', () => {
    fc.assert(
      fc.property(telemetryBatch, fc.constantFrom(1, 3, 9, 19), (batch, level) => {
        expectSameBatch(roundTrip(batch, level), batch)
      }),
      { numRuns: 400 },
    )
  })

  it('keeps NaN payloads, -0, infinities and subnormals in both columns', () => {
    const special = new Float64Array(8)
    const view = new DataView(special.buffer)
    const patterns = [
      [0x7ff0_0000, 1],
      [0xfff8_dead, 0xbeef_0001],
      [0x7ff8_0000, 0],
      [0x8000_0000, 0],
      [0x7ff0_0000, 0],
      [0xfff0_0000, 0],
      [0, 1],
      [0x800f_ffff, 0xffff_ffff],
    ] as const
    patterns.forEach(([high, low], i) => {
      view.setUint32(i * 8, low, true)
      view.setUint32(i * 8 + 4, high, true)
    })
    const batch = { seq: 7, series: [{ sensorId: 's', metric: 'm', timestamps: special.slice(), values: special.slice() }] }
    const back = roundTrip(batch)
    expect(columnBytes(back.series[0]!.values).equals(columnBytes(special))).toBe(true)
    expect(columnBytes(back.series[0]!.timestamps).equals(columnBytes(special))).toBe(true)
  })

  it('round-trips decimal columns that hold a few exceptions and ulp-noisy values', () => {
    const n = 5000
    const values = Float64Array.from({ length: n }, (_, i) => Math.round(2000 + 300 * Math.sin(i / 50)) / 100)
    values[10] = 18.324918539200002 // a few ulps from 18.3249185392
    values[20] = Number.NaN
    values[30] = -0
    values[40] = 1e300
    values[50] = words(0x7ff4_0000, 0x1234)
    const timestamps = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 100)
    const batch = { seq: 1, series: [{ sensorId: 'a', metric: 'b', timestamps, values }] }
    const bytes = encodeBatch(batch)
    expectSameBatch(decodeBatch(bytes), batch)
    // Decimal coding must still apply: far below 8 bytes per value.
    expect(bytes.length).toBeLessThan(n * 2)
  })

  it('round-trips bit-packed decimal digits of every width, up to the widest deltas', () => {
    const big = 2 ** 50
    const widest = Float64Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? big : -big) - (i % 7))
    const noisy = Float64Array.from({ length: 1000 }, (_, i) => Math.round(Math.sin(i) * 1e9) / 1e4)
    for (const values of [widest, noisy]) {
      const batch = { seq: 2, series: [{ sensorId: 's', metric: 'm', timestamps: Float64Array.from(values, (_, i) => i), values }] }
      const bytes = encodeBatch(batch)
      expectSameBatch(decodeBatch(bytes), batch)
      expect(bytes.length).toBeLessThan(values.length * 8)
    }
  })

  it('round-trips equal, unsorted, huge-gap, negative and fractional timestamps', () => {
    const cases = [
      [5, 5, 5, 5],
      [30, 10, 20, 10, 0],
      [0, 2 ** 49, -(2 ** 49), 2 ** 49, 0],
      [Number.MAX_SAFE_INTEGER, 0, -Number.MAX_SAFE_INTEGER],
      [1.5, 2.25, 1e-300, 1_700_000_000_000.5],
      [-0, 0, -0],
    ]
    for (const ts of cases) {
      const timestamps = Float64Array.from(ts)
      const batch = { seq: 3, series: [{ sensorId: 's', metric: 'm', timestamps, values: new Float64Array(ts.length).fill(1) }] }
      expectSameBatch(roundTrip(batch), batch)
    }
  })

  it('round-trips one reading, an empty series and an empty series list', () => {
    const one = { seq: 0, series: [{ sensorId: 'x', metric: 'y', timestamps: Float64Array.of(1_700_000_000_000), values: Float64Array.of(21.5) }] }
    expectSameBatch(roundTrip(one), one)
    const emptySeries = { seq: 1, series: [{ sensorId: 'x', metric: 'y', timestamps: new Float64Array(0), values: new Float64Array(0) }] }
    expectSameBatch(roundTrip(emptySeries), emptySeries)
    const noSeries = { seq: Number.MAX_SAFE_INTEGER, series: [] }
    expectSameBatch(roundTrip(noSeries), noSeries)
    expect(batchReadingCount(one)).toBe(1)
    expect(batchReadingCount(noSeries)).toBe(0)
  })

  it('round-trips 1e6 readings in one series, compactly', () => {
    const n = 1_000_000
    const timestamps = new Float64Array(n)
    const values = new Float64Array(n)
    let level = 2150
    for (let i = 0; i < n; i++) {
      timestamps[i] = 1_700_000_000_000 + i * 100 + (i % 13 === 0 ? 3 : 0)
      level += ((i * 7919) % 11) - 5
      values[i] = level / 100
    }
    const batch = { seq: 42, series: [{ sensorId: 'big', metric: 'temperature', timestamps, values }] }
    const bytes = encodeBatch(batch)
    expect(bytes.length / n).toBeLessThan(1) // under a byte per reading for such a regular series
    const back = decodeBatch(bytes)
    expect(batchReadingCount(back)).toBe(n)
    expectSameBatch(back, batch)
  })

  it('decodes from a misaligned view (a SQLite blob need not be 8-byte aligned)', () => {
    const batch = { seq: 9, series: [{ sensorId: 's', metric: 'm', timestamps: Float64Array.of(1, 2, 3), values: Float64Array.of(Math.PI, Math.E, 1 / 3) }] }
    const bytes = encodeBatch(batch)
    const backing = Buffer.alloc(bytes.length + 3)
    bytes.copy(backing, 3)
    expectSameBatch(decodeBatch(backing.subarray(3)), batch)
  })

  it('uses a zstd dictionary identified in the header', () => {
    const sample = (seq: number): TelemetryBatch => ({
      seq,
      series: [{ sensorId: 'line-1/compressor', metric: 'pressure', timestamps: Float64Array.of(1, 2, 3), values: Float64Array.of(6.51, 6.52, 6.5) }],
    })
    const dictionary = { id: 77, bytes: encodeBatch(sample(0), { level: 1 }).subarray(24) }
    const bytes = encodeBatch(sample(1), { dictionary })
    expectSameBatch(decodeBatch(bytes, { dictionaries: new Map([[77, dictionary.bytes]]) }), sample(1))
  })
})

describe('telemetry batch codec: invalid batches are refused at encode', () => {
  const good = { sensorId: 's', metric: 'm', timestamps: Float64Array.of(1), values: Float64Array.of(1) }
  const cases: [string, unknown, object?][] = [
    ['negative seq', { seq: -1, series: [] }],
    ['fractional seq', { seq: 1.5, series: [] }],
    ['seq above 2^53-1', { seq: 2 ** 53, series: [] }],
    ['series not an array', { seq: 1, series: {} }],
    ['columns of different lengths', { seq: 1, series: [{ ...good, values: Float64Array.of(1, 2) }] }],
    ['plain arrays', { seq: 1, series: [{ ...good, timestamps: [1] }] }],
    ['lone surrogate in an id', { seq: 1, series: [{ ...good, sensorId: 'a\uD800b' }] }],
    ['level out of range', { seq: 1, series: [] }, { level: 23 }],
    ['dictionary id 0', { seq: 1, series: [] }, { dictionary: { id: 0, bytes: Uint8Array.of(1) } }],
  ]
  for (const [name, batch, options] of cases) {
    it(`refuses ${name} with BATCH_ERR_INVALID_BATCH`, () => {
      expect(() => encodeBatch(batch as TelemetryBatch, options)).toThrowError(expect.objectContaining({ code: 'BATCH_ERR_INVALID_BATCH' }))
    })
  }
})
