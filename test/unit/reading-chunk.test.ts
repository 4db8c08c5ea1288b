import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeChunk, encodeChunk, RAW_FLOAT64 } from '../../edge/store/reading-chunk.js'

/** The bytes of numbers as little-endian float64, the chunk's documented layout. */
function float64LE(numbers: readonly number[]): Buffer {
  const out = Buffer.alloc(numbers.length * 8)
  numbers.forEach((n, i) => out.writeDoubleLE(n, i * 8))
  return out
}

/** The model: a stable sort by timestamp of the (ts, value) pairs. */
function stableSorted(timestamps: readonly number[], values: readonly number[]): { ts: number[]; vals: number[] } {
  const pairs = timestamps.map((ts, i) => ({ ts, value: values[i] as number }))
  pairs.sort((a, b) => a.ts - b.ts) // Array.prototype.sort is stable (ES2019)
  return { ts: pairs.map((p) => p.ts), vals: pairs.map((p) => p.value) }
}

/** Copies a buffer to a deliberately misaligned offset (SQLite blobs need not be 8-byte aligned). */
function misaligned(buf: Buffer): Buffer {
  const backing = Buffer.alloc(buf.byteLength + 3)
  const view = backing.subarray(3)
  buf.copy(view)
  expect(view.byteOffset % 8).not.toBe(0)
  return view
}

describe('encodeChunk / decodeChunk', () => {
  it('lays sorted readings out as two little-endian float64 columns', () => {
    const ts = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_500]
    const values = [1.5, -2.25, 1e300]
    const chunk = encodeChunk(ts, values)
    expect(chunk).toMatchObject({ tsMin: ts[0], tsMax: ts[2], count: 3, encoding: RAW_FLOAT64 })
    expect(chunk.timestamps.equals(float64LE(ts))).toBe(true)
    expect(chunk.vals.equals(float64LE(values))).toBe(true)
  })

  it('sorts unsorted input by timestamp, stably: equal timestamps keep arrival order', () => {
    const chunk = encodeChunk([30, 10, 30, 10, 20, 10], [1, 2, 3, 4, 5, 6])
    const decoded = decodeChunk(chunk.encoding, chunk.timestamps, chunk.vals)
    expect([...decoded.timestamps]).toEqual([10, 10, 10, 20, 30, 30])
    expect([...decoded.values]).toEqual([2, 4, 6, 5, 1, 3])
    expect(chunk.tsMin).toBe(10)
    expect(chunk.tsMax).toBe(30)
  })

  it('does not modify the caller\'s arrays', () => {
    const ts = [3, 1, 2]
    const values = [30, 10, 20]
    encodeChunk(ts, values)
    expect(ts).toEqual([3, 1, 2])
    expect(values).toEqual([30, 10, 20])
  })

  it('round-trips special values bit-exactly: -0, NaN, infinities, subnormals, max safe timestamps', () => {
    const ts = [0, 1, 2, 3, 4, 5, Number.MAX_SAFE_INTEGER]
    const values = [-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE, 0.1 + 0.2]
    const chunk = encodeChunk(ts, values)
    const decoded = decodeChunk(chunk.encoding, chunk.timestamps, chunk.vals)
    expect(Object.is(decoded.values[0], -0)).toBe(true)
    expect(Number.isNaN(decoded.values[1])).toBe(true)
    expect([...decoded.values].slice(2)).toEqual(values.slice(2))
    expect([...decoded.timestamps]).toEqual(ts)
    expect(Buffer.from(decoded.values.buffer, decoded.values.byteOffset, decoded.values.byteLength).equals(float64LE(values))).toBe(true)
  })

  it('keeps NaN payload bits that reach it', () => {
    const bits = Buffer.alloc(8)
    bits.writeBigUInt64LE(0x7ff8_0000_dead_beefn)
    const source = new Float64Array(bits.buffer, bits.byteOffset, 1)
    const chunk = encodeChunk([1], source as unknown as number[])
    expect(chunk.vals.equals(Buffer.from(source.buffer, source.byteOffset, 8))).toBe(true)
  })

  it('encodes an empty chunk', () => {
    const chunk = encodeChunk([], [])
    expect(chunk.count).toBe(0)
    expect(chunk.timestamps.byteLength).toBe(0)
    const decoded = decodeChunk(chunk.encoding, chunk.timestamps, chunk.vals)
    expect(decoded.timestamps.length).toBe(0)
  })

  it('decodes blobs that are not 8-byte aligned', () => {
    const chunk = encodeChunk([5, 6, 7], [0.5, 0.6, 0.7])
    const decoded = decodeChunk(chunk.encoding, misaligned(chunk.timestamps), misaligned(chunk.vals))
    expect([...decoded.timestamps]).toEqual([5, 6, 7])
    expect([...decoded.values]).toEqual([0.5, 0.6, 0.7])
  })

  it('refuses an unknown encoding', () => {
    expect(() => decodeChunk(99, Buffer.alloc(8), Buffer.alloc(8))).toThrow(/unknown reading chunk encoding 99/)
  })

  it('refuses columns of different lengths or not a multiple of 8 bytes', () => {
    expect(() => decodeChunk(RAW_FLOAT64, Buffer.alloc(16), Buffer.alloc(8))).toThrow(/corrupt reading chunk/)
    expect(() => decodeChunk(RAW_FLOAT64, Buffer.alloc(12), Buffer.alloc(12))).toThrow(/corrupt reading chunk/)
  })
})

describe('reading chunks: properties', () => {
  const readings = fc.array(
    fc.record({
      // Epoch milliseconds with many duplicates, so stability is exercised.
      ts: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
      value: fc.double(),
    }),
    { maxLength: 200 },
  )

  it('round-trips any readings: decoded == stable sort of the input, bit for bit', () => {
    fc.assert(
      fc.property(readings, fc.boolean(), (items, misalign) => {
        const ts = items.map((r) => r.ts)
        const values = items.map((r) => r.value)
        const chunk = encodeChunk(ts, values)
        const expected = stableSorted(ts, values)
        expect(chunk.count).toBe(items.length)
        if (items.length > 0) {
          expect(chunk.tsMin).toBe(expected.ts[0])
          expect(chunk.tsMax).toBe(expected.ts[expected.ts.length - 1])
        }
        expect(chunk.timestamps.equals(float64LE(expected.ts))).toBe(true)
        expect(chunk.vals.equals(float64LE(expected.vals))).toBe(true)
        const tsBlob = misalign ? misaligned(Buffer.from(chunk.timestamps)) : Buffer.from(chunk.timestamps)
        const valBlob = misalign ? misaligned(Buffer.from(chunk.vals)) : Buffer.from(chunk.vals)
        const decoded = decodeChunk(chunk.encoding, tsBlob, valBlob)
        expect(float64LE([...decoded.timestamps]).equals(float64LE(expected.ts))).toBe(true)
        expect(float64LE([...decoded.values]).equals(float64LE(expected.vals))).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })
})
