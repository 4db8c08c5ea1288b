import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { packedSize, readPacked, writePacked } from '../../shared/telemetry-batch/bit-packing.js'
import { ByteReader, ByteWriter, unzigzag, zigzag } from '../../shared/telemetry-batch/byte-io.js'

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
