import type { ByteReader, ByteWriter } from './byte-io.js'
import { corrupt } from './byte-io.js'

/**
 * Bit-packed unsigned integers (docs/formats/batch.md, "Bit-packed blocks"):
 * blocks of 128 values, each block a width byte w (0..53) then the values
 * in w bits each, least significant bit first. Noisy readings (30+ bits of
 * entropy) take w bits instead of a varint's 8 bits per 7; zstd cannot
 * recover that difference on its own. Hand-written: the npm bit-packing
 * libraries work on 32-bit integers and we need up to 53.
 */

export const BLOCK_SIZE = 128
const CHUNK_BITS = 24
const CHUNK = 2 ** CHUNK_BITS

function bitWidth(max: number): number {
  let width = 0
  while (max >= 1) {
    width++
    max = Math.floor(max / 2)
  }
  return width
}

/** Size in bytes of the packed form of these unsigned integers. */
export function packedSize(values: Float64Array): number {
  let bytes = 0
  for (let start = 0; start < values.length; start += BLOCK_SIZE) {
    const end = Math.min(values.length, start + BLOCK_SIZE)
    let max = 0
    for (let i = start; i < end; i++) if ((values[i] as number) > max) max = values[i] as number
    bytes += 1 + Math.ceil(((end - start) * bitWidth(max)) / 8)
  }
  return bytes
}

export function writePacked(out: ByteWriter, values: Float64Array): void {
  for (let start = 0; start < values.length; start += BLOCK_SIZE) {
    const end = Math.min(values.length, start + BLOCK_SIZE)
    let max = 0
    for (let i = start; i < end; i++) if ((values[i] as number) > max) max = values[i] as number
    const width = bitWidth(max)
    out.u8(width)
    out.reserve(Math.ceil(((end - start) * width) / 8))
    let acc = 0
    let bits = 0
    for (let i = start; i < end; i++) {
      let value = values[i] as number
      let remaining = width
      while (remaining > 0) {
        const take = remaining < CHUNK_BITS ? remaining : CHUNK_BITS
        const scale = 2 ** take
        const chunk = value % scale
        value = (value - chunk) / scale
        acc |= chunk << bits
        bits += take
        remaining -= take
        while (bits >= 8) {
          out.u8(acc & 0xff)
          acc >>>= 8
          bits -= 8
        }
      }
    }
    if (bits > 0) out.u8(acc & 0xff)
  }
}

/** Reads `count` packed values; a width above 53 or a short section is BATCH_ERR_CORRUPT. */
export function readPacked(input: ByteReader, count: number): Float64Array {
  const values = new Float64Array(count)
  for (let start = 0; start < count; start += BLOCK_SIZE) {
    const end = Math.min(count, start + BLOCK_SIZE)
    const width = input.u8()
    if (width > 53) throw corrupt(`a bit-packed block has width ${width}`)
    const bytes = input.bytes(Math.ceil(((end - start) * width) / 8))
    let pos = 0
    let acc = 0
    let bits = 0
    for (let i = start; i < end; i++) {
      let value = 0
      let weight = 1
      let remaining = width
      while (remaining > 0) {
        const take = remaining < CHUNK_BITS ? remaining : CHUNK_BITS
        while (bits < take) {
          acc |= (bytes[pos++] as number) << bits
          bits += 8
        }
        const chunk = acc & ((1 << take) - 1)
        acc >>>= take
        bits -= take
        value += chunk * weight
        weight *= CHUNK
        remaining -= take
      }
      values[i] = value
    }
  }
  return values
}
