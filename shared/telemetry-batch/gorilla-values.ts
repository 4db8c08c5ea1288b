import { ByteReader, ByteWriter, corrupt } from './byte-io.js'

/**
 * Gorilla XOR value encoding (Pelkonen et al., "Gorilla: A Fast, Scalable,
 * In-Memory Time Series Database", VLDB 2015, section 4.1.2), for columns
 * that are not decimals: each value is XORed with the previous one and only
 * the meaningful bits of the XOR are stored. Works on the raw bit patterns
 * (two uint32 words per value, never a JS number), so NaN payloads survive.
 * Written here because no maintained npm package implements it over
 * Float64Array with a bit-exact guarantee; differences from the paper: the
 * leading-zero count takes 6 bits (not 5) and the meaningful-bit length is
 * stored minus one in 6 bits, so every XOR fits without a special case.
 * Bits are written least significant first, like the bit-packed blocks.
 */

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const LO = littleEndianHost ? 0 : 1
const HI = littleEndianHost ? 1 : 0

class BitWriter {
  private acc = 0
  private bits = 0
  constructor(private readonly out: ByteWriter) {}

  /** Writes the low n bits (n <= 32) of an unsigned 32-bit value. */
  write(value: number, n: number): void {
    if (n > 16) {
      this.write(value & 0xffff, 16)
      this.write(value >>> 16, n - 16)
      return
    }
    this.acc |= (n === 32 ? value : value & ((1 << n) - 1)) << this.bits
    this.bits += n
    while (this.bits >= 8) {
      this.out.u8(this.acc & 0xff)
      this.acc >>>= 8
      this.bits -= 8
    }
  }

  flush(): void {
    if (this.bits > 0) this.out.u8(this.acc & 0xff)
    this.acc = 0
    this.bits = 0
  }
}

class BitReader {
  private acc = 0
  private bits = 0
  constructor(private readonly input: ByteReader) {}

  read(n: number): number {
    if (n > 16) {
      const low = this.read(16)
      return (low + this.read(n - 16) * 0x10000) >>> 0
    }
    while (this.bits < n) {
      this.acc |= this.input.u8() << this.bits
      this.bits += 8
    }
    const value = this.acc & ((1 << n) - 1)
    this.acc >>>= n
    this.bits -= n
    return value
  }
}

function leadingZeros(high: number, low: number): number {
  return high !== 0 ? Math.clz32(high) : 32 + Math.clz32(low)
}

function trailingZeros(high: number, low: number): number {
  if (low !== 0) return 31 - Math.clz32(low & -low)
  return 32 + (31 - Math.clz32(high & -high))
}

/** Writes the `length` bits of (high:low) >> shift. */
function writeShifted(bitsOut: BitWriter, high: number, low: number, shift: number, length: number): void {
  let lo: number
  let hi: number
  if (shift >= 32) {
    lo = high >>> (shift - 32)
    hi = 0
  } else if (shift > 0) {
    lo = ((low >>> shift) | (high << (32 - shift))) >>> 0
    hi = high >>> shift
  } else {
    lo = low
    hi = high
  }
  if (length <= 32) bitsOut.write(lo, length)
  else {
    bitsOut.write(lo, 32)
    bitsOut.write(hi, length - 32)
  }
}

export function encodeGorillaValues(values: Float64Array): Uint8Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2)
  const out = new ByteWriter(values.length * 4 + 16)
  const bitsOut = new BitWriter(out)
  let prevHigh = 0
  let prevLow = 0
  let windowLeading = -1
  let windowTrailing = 0
  for (let i = 0; i < values.length; i++) {
    const high = words[2 * i + HI] as number
    const low = words[2 * i + LO] as number
    if (i === 0) {
      bitsOut.write(low, 32)
      bitsOut.write(high, 32)
    } else {
      const xHigh = (high ^ prevHigh) >>> 0
      const xLow = (low ^ prevLow) >>> 0
      if (xHigh === 0 && xLow === 0) bitsOut.write(0, 1)
      else {
        const leading = leadingZeros(xHigh, xLow)
        const trailing = trailingZeros(xHigh, xLow)
        if (windowLeading >= 0 && leading >= windowLeading && trailing >= windowTrailing) {
          // Control bits 1,0 (read LSB first: 0b01): reuse the previous window.
          bitsOut.write(0b01, 2)
          writeShifted(bitsOut, xHigh, xLow, windowTrailing, 64 - windowLeading - windowTrailing)
        } else {
          // Control bits 1,1: a new window, 6 bits of leading zeros, 6 bits of length - 1.
          const length = 64 - leading - trailing
          bitsOut.write(0b11, 2)
          bitsOut.write(leading, 6)
          bitsOut.write(length - 1, 6)
          writeShifted(bitsOut, xHigh, xLow, trailing, length)
          windowLeading = leading
          windowTrailing = trailing
        }
      }
    }
    prevHigh = high
    prevLow = low
  }
  bitsOut.flush()
  return out.result()
}

export function decodeGorillaValues(input: ByteReader, count: number): Float64Array {
  // The first value takes 8 bytes and every further one at least a bit: refuse before allocating.
  if (count > 0 && 8 + (count - 1) / 8 > input.remaining) throw corrupt('a Gorilla column is shorter than its reading count')
  const values = new Float64Array(count)
  const words = new Uint32Array(values.buffer)
  const bitsIn = new BitReader(input)
  let high = 0
  let low = 0
  let windowLeading = -1
  let windowTrailing = 0
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      low = bitsIn.read(32)
      high = bitsIn.read(32)
    } else if (bitsIn.read(1) === 1) {
      if (bitsIn.read(1) === 1) {
        windowLeading = bitsIn.read(6)
        const length = bitsIn.read(6) + 1
        windowTrailing = 64 - windowLeading - length
        if (windowTrailing < 0) throw corrupt('a Gorilla window is longer than 64 bits')
      } else if (windowLeading < 0) throw corrupt('a Gorilla value reuses a window before one was set')
      const length = 64 - windowLeading - windowTrailing
      let lo: number
      let hi = 0
      if (length <= 32) lo = bitsIn.read(length)
      else {
        lo = bitsIn.read(32)
        hi = bitsIn.read(length - 32)
      }
      // Shift (hi:lo) left by windowTrailing and XOR into the previous value.
      let xHigh: number
      let xLow: number
      const shift = windowTrailing
      if (shift >= 32) {
        xHigh = (lo << (shift - 32)) >>> 0
        xLow = 0
      } else if (shift > 0) {
        xHigh = ((hi << shift) | (lo >>> (32 - shift))) >>> 0
        xLow = (lo << shift) >>> 0
      } else {
        xHigh = hi
        xLow = lo
      }
      high = (high ^ xHigh) >>> 0
      low = (low ^ xLow) >>> 0
    }
    words[2 * i + HI] = high
    words[2 * i + LO] = low
  }
  return values
}
