import fc from 'fast-check'
import type { SeriesColumn, TelemetryBatch } from '../../shared/telemetry-batch/index.js'

/** Any float64 bit pattern, NaN payloads included, built from two random 32-bit words. */
export const anyFloatBits = fc
  .tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }))
  .map(([high, low]) => ({ high, low }))

/** The float64s that break naive codecs. */
const adversarialWords: { high: number; low: number }[] = [
  { high: 0x7ff8_0000, low: 0 }, // canonical quiet NaN
  { high: 0x7ff0_0000, low: 1 }, // signalling NaN with payload 1
  { high: 0xfff8_dead, low: 0xbeef_0001 }, // negative NaN with payload
  { high: 0x7fff_ffff, low: 0xffff_ffff }, // all-ones NaN
  { high: 0x8000_0000, low: 0 }, // -0
  { high: 0, low: 0 }, // +0
  { high: 0x7ff0_0000, low: 0 }, // +Infinity
  { high: 0xfff0_0000, low: 0 }, // -Infinity
  { high: 0, low: 1 }, // smallest subnormal
  { high: 0x000f_ffff, low: 0xffff_ffff }, // largest subnormal
  { high: 0x8000_0000, low: 1 }, // negative subnormal
  { high: 0x7fef_ffff, low: 0xffff_ffff }, // largest finite
]

/** A column of length n: bit patterns written straight into the buffer, never through a JS number. */
function columnFromWords(words: readonly { high: number; low: number }[]): Float64Array {
  const column = new Float64Array(words.length)
  const view = new DataView(column.buffer)
  words.forEach((w, i) => {
    view.setUint32(i * 8, w.low, true)
    view.setUint32(i * 8 + 4, w.high, true)
  })
  return column
}

const adversarialFloat = fc.constantFrom(...adversarialWords)

/** Decimal-looking readings (k / 10^d), sometimes a few ulps off, like real sensor data. */
const decimalColumn = (n: number): fc.Arbitrary<Float64Array> =>
  fc
    .record({
      scale: fc.integer({ min: 0, max: 15 }),
      start: fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
      steps: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n }),
      noisy: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    })
    .map(({ scale, start, steps, noisy }) => {
      const column = new Float64Array(n)
      let k = start
      for (let i = 0; i < n; i++) {
        k += steps[i] as number
        const v = k / 10 ** scale
        column[i] = noisy[i] === true ? v * (1 + Number.EPSILON) : v
      }
      return column
    })

/** A mix: mostly decimals with adversarial values and random bit patterns sprinkled in. */
const mixedColumn = (n: number): fc.Arbitrary<Float64Array> =>
  fc
    .tuple(decimalColumn(n), fc.array(fc.tuple(fc.nat(), fc.oneof(adversarialFloat, anyFloatBits)), { maxLength: 8 }))
    .map(([column, patches]) => {
      const view = new DataView(column.buffer)
      for (const [at, w] of patches) {
        if (n === 0) break
        const i = at % n
        view.setUint32(i * 8, w.low, true)
        view.setUint32(i * 8 + 4, w.high, true)
      }
      return column
    })

/** Value columns of every style the codec distinguishes. */
export const valueColumn = (n: number): fc.Arbitrary<Float64Array> =>
  fc.oneof(
    decimalColumn(n),
    mixedColumn(n),
    fc.array(fc.oneof(adversarialFloat, anyFloatBits), { minLength: n, maxLength: n }).map(columnFromWords),
    fc.array(fc.double(), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a)),
    fc.constantFrom(0, -0, 1.5, Number.NaN).map((v) => new Float64Array(n).fill(v)),
  )

/** Timestamp columns: regular with jitter, equal, unsorted, huge gaps, fractional, any bits. */
export const timestampColumn = (n: number): fc.Arbitrary<Float64Array> =>
  fc.oneof(
    fc
      .record({
        start: fc.integer({ min: 0, max: 2 ** 45 }),
        interval: fc.integer({ min: 0, max: 60_000 }),
        jitter: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: n, maxLength: n }),
      })
      .map(({ start, interval, jitter }) => Float64Array.from(jitter, (j, i) => start + i * interval + j)),
    fc.array(fc.integer({ min: -(2 ** 49), max: 2 ** 49 }), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a)),
    fc.array(fc.maxSafeInteger(), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a)),
    fc.integer({ min: 0, max: 2 ** 45 }).map((t) => new Float64Array(n).fill(t)),
    fc.array(fc.double(), { minLength: n, maxLength: n }).map((a) => Float64Array.from(a)),
    fc.array(fc.oneof(adversarialFloat, anyFloatBits), { minLength: n, maxLength: n }).map(columnFromWords),
  )

const id = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('sensor-1', 'temp', 'ä€😀', ''))

export const seriesColumn: fc.Arbitrary<SeriesColumn> = fc
  .integer({ min: 0, max: 40 })
  .chain((n) => fc.record({ sensorId: id, metric: id, timestamps: timestampColumn(n), values: valueColumn(n) }))

export const telemetryBatch: fc.Arbitrary<TelemetryBatch> = fc.record({
  seq: fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
  series: fc.array(seriesColumn, { maxLength: 6 }),
})

/** The bytes of a float64 column, for bit-exact comparison (NaN payloads, -0). */
export function columnBytes(column: Float64Array): Buffer {
  return Buffer.from(column.buffer, column.byteOffset, column.byteLength)
}

/** Throws unless two batches are equal bit for bit. */
export function expectSameBatch(actual: TelemetryBatch, expected: TelemetryBatch): void {
  if (actual.seq !== expected.seq) throw new Error(`seq ${actual.seq} !== ${expected.seq}`)
  if (actual.series.length !== expected.series.length) throw new Error(`series count ${actual.series.length} !== ${expected.series.length}`)
  expected.series.forEach((want, s) => {
    const got = actual.series[s] as SeriesColumn
    if (got.sensorId !== want.sensorId || got.metric !== want.metric) throw new Error(`series ${s} ids differ`)
    if (!columnBytes(got.timestamps).equals(columnBytes(want.timestamps))) throw new Error(`series ${s} timestamps differ`)
    if (!columnBytes(got.values).equals(columnBytes(want.values))) throw new Error(`series ${s} values differ`)
  })
}
