import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { packedSize, readPacked, writePacked } from '../../shared/telemetry-batch/bit-packing.js'
import { ByteReader, ByteWriter, unzigzag, zigzag } from '../../shared/telemetry-batch/byte-io.js'
import { decodeGorillaValues, encodeGorillaValues } from '../../shared/telemetry-batch/gorilla-values.js'

describe('telemetry batch primitives', () => {
  it('bit-packs any unsigned integers up to 2^53-1 and reads them back', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.maxSafeNat(), fc.nat(255), fc.constant(0)), { maxLength: 700 }), (list) => {
        const values = Float64Array.from(list)
        const out = new ByteWriter()
        writePacked(out, values)
        expect(out.length).toBe(packedSize(values))
        const input = new ByteReader(out.result())
        expect([...readPacked(input, values.length)]).toEqual(list)
        expect(input.remaining).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('writes a block of 128 equal values as its width byte alone when they are all zero', () => {
    const out = new ByteWriter()
    writePacked(out, new Float64Array(128))
    expect([...out.result()]).toEqual([0])
  })

  it('round-trips varints and zig-zag over the safe-integer range', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: -(2 ** 51), max: 2 ** 51 }), (u, s) => {
        const out = new ByteWriter()
        out.uvarint(u)
        out.svarint(s)
        const input = new ByteReader(out.result())
        expect(input.uvarint()).toBe(u)
        expect(input.svarint()).toBe(s)
        expect(unzigzag(zigzag(s))).toBe(s)
      }),
    )
    const out = new ByteWriter()
    out.uvarint(300)
    expect([...out.result()]).toEqual([0xac, 0x02])
    expect(zigzag(-1)).toBe(1)
    expect(zigzag(1)).toBe(2)
  })
})

describe('Gorilla XOR values', () => {
  it('round-trips any bit patterns, NaN payloads included, with XORs of every width', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0x4034_0000, 0x7ff8_0000)), fc.integer({ min: 0, max: 0xffff_ffff })), { maxLength: 300 }), (pairs) => {
        const values = new Float64Array(pairs.length)
        const view = new DataView(values.buffer)
        pairs.forEach(([high, low], i) => {
          view.setUint32(i * 8, low, true)
          view.setUint32(i * 8 + 4, high, true)
        })
        const input = new ByteReader(encodeGorillaValues(values))
        const back = decodeGorillaValues(input, values.length)
        expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true)
        expect(input.remaining).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('stores repeats in one bit and slowly varying floats in far less than 8 bytes', () => {
    const repeats = new Float64Array(801).fill(Math.PI)
    expect(encodeGorillaValues(repeats).length).toBe(8 + 100)
    const smooth = Float64Array.from({ length: 1000 }, (_, i) => 1000 + i * 0.25)
    const bytes = encodeGorillaValues(smooth)
    expect(bytes.length).toBeLessThan(smooth.length * 3)
    expect([...decodeGorillaValues(new ByteReader(bytes), smooth.length)]).toEqual([...smooth])
  })
})
