/**
 * Float64 bit patterns as two uint32 halves (high word holds sign, exponent
 * and the top 20 mantissa bits). The typed-array alias is the fastest way V8
 * offers; the word order follows the platform's endianness.
 */

const scratchFloat = new Float64Array(1)
const scratchWords = new Uint32Array(scratchFloat.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const LO = littleEndian ? 0 : 1
const HI = littleEndian ? 1 : 0

const TWO_POW_32 = 4_294_967_296

/**
 * bits(a) - bits(b) as a signed integer, or NaN when the difference is 2^32
 * or more (patterns that far apart are not worth a correction).
 */
export function bitDistance(a: number, b: number): number {
  scratchFloat[0] = a
  const aHigh = scratchWords[HI] as number
  const aLow = scratchWords[LO] as number
  scratchFloat[0] = b
  const highDiff = aHigh - (scratchWords[HI] as number)
  if (highDiff > 1 || highDiff < -1) return Number.NaN
  const distance = highDiff * TWO_POW_32 + (aLow - (scratchWords[LO] as number))
  return distance >= TWO_POW_32 || distance <= -TWO_POW_32 ? Number.NaN : distance
}

/** The float whose bit pattern is bits(base) + distance (|distance| < 2^32; wraps within 64 bits). */
export function addToBits(base: number, distance: number): number {
  scratchFloat[0] = base
  let high = scratchWords[HI] as number
  const low = (scratchWords[LO] as number) + distance
  const carry = Math.floor(low / TWO_POW_32)
  high = (high + carry) >>> 0
  scratchWords[HI] = high
  scratchWords[LO] = low - carry * TWO_POW_32
  return scratchFloat[0] as number
}
