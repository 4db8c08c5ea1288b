import type { ByteReader, ByteWriter } from './byte-io.js'

/**
 * Raw float64 columns are copied as bytes, never read into JS numbers: that
 * keeps every NaN payload intact whatever the engine does with NaNs in
 * registers. The wire order is little-endian; big-endian hosts swap.
 */

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export function writeRawFloats(out: ByteWriter, column: Float64Array): void {
  const bytes = new Uint8Array(column.buffer, column.byteOffset, column.byteLength)
  if (littleEndianHost) {
    out.bytes(bytes)
    return
  }
  out.reserve(bytes.length)
  for (let i = 0; i < bytes.length; i += 8) for (let j = 7; j >= 0; j--) out.u8(bytes[i + j] as number)
}

export function readRawFloats(input: ByteReader, count: number): Float64Array {
  const source = input.bytes(count * 8)
  const column = new Float64Array(count)
  const target = new Uint8Array(column.buffer)
  if (littleEndianHost) target.set(source)
  else for (let i = 0; i < source.length; i += 8) for (let j = 0; j < 8; j++) target[i + j] = source[i + 7 - j] as number
  return column
}

/** Copies the 8 bytes of column[index] (little-endian) to out. */
export function writeRawFloatAt(out: ByteWriter, column: Float64Array, index: number): void {
  writeRawFloats(out, column.subarray(index, index + 1))
}
