import { BLOCK_SIZE, packedSize, readPacked, writePacked } from './bit-packing.js'
import { ByteReader, ByteWriter, corrupt, unzigzag, varintSize, zigzag } from './byte-io.js'
import { addToBits, bitDistance } from './float-bits.js'
import { readRawFloats, writeRawFloatAt } from './raw-float-column.js'

/**
 * Decimal value encoding (docs/formats/batch.md, "Decimal values"): sensor
 * readings are usually k / 10^d for a small scale d. Storing k as zig-zag
 * varint deltas takes 1-3 bytes where a float64 takes 8, and zstd shrinks the
 * result further. Project-specific, hence written here:
 *
 * - the decoder computes k / 10^d (a correctly rounded IEEE division; 10^d is
 *   exact for d <= 22), never k * 10^-d, which is not exact;
 * - values that are a few ulps away from k / 10^d (arithmetic noise such as
 *   18.324918539200002) carry a small bit-pattern correction;
 * - anything else (NaN, +-Infinity, -0, huge magnitudes) is an exception
 *   stored as raw bits at its index.
 */

export const MAX_DECIMAL_SCALE = 22
/** The encoder looks for scales up to this; beyond it a value is noise at any scale. */
const SEARCH_SCALE = 15
/** |k| stays below 2^50 so deltas (< 2^51) and zig-zag (< 2^52) are exact. */
const MAX_ABS_SCALED = 2 ** 50
/** A value within this many bit patterns of k / 10^d counts as "has d decimals". */
const NEAR_DISTANCE = 16
/** Corrections beyond this are exceptions instead: 5 varint bytes, about as dear as raw. */
const MAX_CORRECTION = 2 ** 31

/** How the scaled integers' deltas are stored. */
export const DigitPacking = { varint: 0, bitPacked: 1 } as const
/** Keep varints when more than this share of the deltas is zero (repeated values). */
const VARINT_WHEN_ZEROS_ABOVE = 0.2

const powersOfTen = Array.from({ length: MAX_DECIMAL_SCALE + 1 }, (_, d) => 10 ** d)

/** The smallest scale at which v is (nearly) a decimal, or -1. */
function scaleOf(v: number): number {
  if (!Number.isFinite(v) || Object.is(v, -0)) return -1
  for (let d = 0; d <= SEARCH_SCALE; d++) {
    const p = powersOfTen[d] as number
    const k = Math.round(v * p)
    if (k > MAX_ABS_SCALED || k < -MAX_ABS_SCALED) return -1
    const distance = bitDistance(v, k / p)
    if (distance <= NEAR_DISTANCE && distance >= -NEAR_DISTANCE) return d
  }
  return -1
}

/**
 * Candidate scales worth trying for a column: the one that covers every
 * value, and the ones that cover 99% and 90% (outliers become corrections or
 * exceptions). At most three, smallest first.
 */
export function candidateScales(values: Float64Array): number[] {
  const histogram = new Array<number>(SEARCH_SCALE + 1).fill(0)
  let decimals = 0
  // A sample is enough to choose; the encoding itself checks every value.
  const step = Math.max(1, Math.floor(values.length / 4096))
  for (let i = 0; i < values.length; i += step) {
    const d = scaleOf(values[i] as number)
    if (d >= 0) {
      histogram[d] = (histogram[d] as number) + 1
      decimals++
    }
  }
  if (decimals === 0) return []
  const scales = new Set<number>()
  for (const share of [0.9, 0.99, 1]) {
    let cumulative = 0
    for (let d = 0; d <= SEARCH_SCALE; d++) {
      cumulative += histogram[d] as number
      if (cumulative >= share * decimals) {
        scales.add(d)
        break
      }
    }
  }
  return [...scales].sort((a, b) => a - b)
}

export interface DecimalPayload {
  bytes: Uint8Array
  /** Every value is exactly k / 10^scale: a larger scale cannot do better. */
  exact: boolean
}

/** Encodes the payload for one scale, or returns undefined when most values would be exceptions. */
export function encodeDecimalValues(values: Float64Array, scale: number): DecimalPayload | undefined {
  const n = values.length
  const p = powersOfTen[scale] as number
  const scaled = new Float64Array(n)
  const corrections = new Float64Array(n)
  const exceptions: number[] = []
  let anyCorrection = false
  for (let i = 0; i < n; i++) {
    const v = values[i] as number
    let k = Math.round(v * p) + 0 // + 0 turns -0 into 0: the decoder only sees integers
    let distance = Number.NaN
    if (Number.isFinite(v) && !Object.is(v, -0) && k <= MAX_ABS_SCALED && k >= -MAX_ABS_SCALED) distance = bitDistance(v, k / p)
    if (Number.isNaN(distance) || distance >= MAX_CORRECTION || distance <= -MAX_CORRECTION) {
      exceptions.push(i)
      k = i > 0 ? (scaled[i - 1] as number) : 0
      distance = 0
    }
    scaled[i] = k
    corrections[i] = distance
    if (distance !== 0) anyCorrection = true
  }
  if (exceptions.length > n / 2) return undefined
  const out = new ByteWriter(n * 2 + 16 + exceptions.length * 10)
  out.u8(scale)
  out.uvarint(exceptions.length)
  let previousException = -1
  for (const index of exceptions) {
    out.uvarint(index - previousException - 1)
    writeRawFloatAt(out, values, index)
    previousException = index
  }
  out.u8(anyCorrection ? 1 : 0)
  const deltas = new Float64Array(n)
  let previous = 0
  let varintBytes = 0
  let zeros = 0
  for (let i = 0; i < n; i++) {
    const k = scaled[i] as number
    const z = zigzag(k - previous)
    deltas[i] = z
    varintBytes += varintSize(z)
    if (z === 0) zeros++
    previous = k
  }
  // Varints leave zstd whole bytes to match, which wins when values repeat
  // (many zero deltas); otherwise bit-packing wins as soon as it is smaller
  // (measured on NAB and simulator data, see docs/benchmarks.md).
  const packed = zeros < n * VARINT_WHEN_ZEROS_ABOVE && packedSize(deltas) < varintBytes
  out.u8(packed ? DigitPacking.bitPacked : DigitPacking.varint)
  if (packed) writePacked(out, deltas)
  else for (let i = 0; i < n; i++) out.uvarint(deltas[i] as number)
  if (anyCorrection) for (let i = 0; i < n; i++) out.svarint(corrections[i] as number)
  return { bytes: out.result(), exact: !anyCorrection && exceptions.length === 0 }
}

export function decodeDecimalValues(input: ByteReader, count: number): Float64Array {
  const scale = input.u8()
  if (scale > MAX_DECIMAL_SCALE) throw corrupt(`decimal scale ${scale} is above ${MAX_DECIMAL_SCALE}`)
  const p = powersOfTen[scale] as number
  const exceptionCount = input.uvarint()
  if (exceptionCount > count) throw corrupt('a decimal column has more exceptions than readings')
  const exceptionIndexes = new Array<number>(exceptionCount)
  const exceptionValues: Float64Array[] = []
  let index = -1
  for (let e = 0; e < exceptionCount; e++) {
    index += input.uvarint() + 1
    if (index >= count) throw corrupt('a decimal exception index is out of range')
    exceptionIndexes[e] = index
    exceptionValues.push(readRawFloats(input, 1))
  }
  const hasCorrections = input.u8()
  if (hasCorrections > 1) throw corrupt('a decimal column has an invalid corrections flag')
  const packing = input.u8()
  let values: Float64Array
  if (packing === DigitPacking.bitPacked) {
    // Every block of up to 128 readings takes at least its width byte: refuse before allocating.
    if (Math.ceil(count / BLOCK_SIZE) > input.remaining) throw corrupt('a decimal column is shorter than its reading count')
    values = readPacked(input, count)
    let k = 0
    for (let i = 0; i < count; i++) {
      k += unzigzag(values[i] as number)
      values[i] = k / p
    }
  } else if (packing === DigitPacking.varint) {
    // Every reading takes at least one byte: refuse before allocating.
    if (count > input.remaining) throw corrupt('a decimal column is shorter than its reading count')
    values = new Float64Array(count)
    let k = 0
    for (let i = 0; i < count; i++) {
      k += input.svarint()
      values[i] = k / p
    }
  } else throw corrupt(`unknown digit packing ${packing}`)
  if (hasCorrections === 1) {
    for (let i = 0; i < count; i++) {
      const distance = input.svarint()
      if (distance !== 0) {
        if (distance >= MAX_CORRECTION || distance <= -MAX_CORRECTION) throw corrupt('a decimal correction is out of range')
        values[i] = addToBits(values[i] as number, distance)
      }
    }
  }
  for (let e = 0; e < exceptionCount; e++) values.set(exceptionValues[e] as Float64Array, exceptionIndexes[e])
  return values
}
