import { ByteReader, ByteWriter, corrupt } from './byte-io.js'
import { candidateScales, decodeDecimalValues, encodeDecimalValues } from './decimal-values.js'
import { decodeGorillaValues, encodeGorillaValues } from './gorilla-values.js'
import { readRawFloats, writeRawFloats } from './raw-float-column.js'

/**
 * Value column: the smallest of the encodings that apply (docs/formats/batch.md,
 * "Value column"), chosen per series before zstd.
 */

export const ValueEncoding = { raw: 0, decimal: 1, gorilla: 2 } as const

/** Gorilla is only tried when decimals take this many bytes a value or more: below it, decimals always won on NAB and simulator data. */
const TRY_GORILLA_FROM_BYTES_PER_VALUE = 4

export function writeValueColumn(out: ByteWriter, values: Float64Array): void {
  let best: Uint8Array | undefined
  for (const scale of candidateScales(values)) {
    const payload = encodeDecimalValues(values, scale)
    if (payload !== undefined && (best === undefined || payload.bytes.length < best.length)) best = payload.bytes
    // Scales come smallest first; a larger one only makes every integer longer.
    if (payload?.exact === true) break
  }
  let tag: number = ValueEncoding.decimal
  if (best === undefined || best.length >= values.length * TRY_GORILLA_FROM_BYTES_PER_VALUE) {
    const gorilla = encodeGorillaValues(values)
    if (best === undefined || gorilla.length < best.length) {
      best = gorilla
      tag = ValueEncoding.gorilla
    }
  }
  if (best.length < values.length * 8) {
    out.u8(tag)
    out.uvarint(best.length)
    out.bytes(best)
    return
  }
  out.u8(ValueEncoding.raw)
  out.uvarint(values.length * 8)
  writeRawFloats(out, values)
}

export function readValueColumn(input: ByteReader, count: number): Float64Array {
  const { tag, length, column } = input.column('a value column')
  let values: Float64Array
  switch (tag) {
    case ValueEncoding.raw:
      if (length !== count * 8) throw corrupt('a raw value column has the wrong length')
      values = readRawFloats(column, count)
      break
    case ValueEncoding.decimal:
      values = decodeDecimalValues(column, count)
      break
    case ValueEncoding.gorilla:
      values = decodeGorillaValues(column, count)
      break
    default:
      throw corrupt(`unknown value encoding ${tag}`)
  }
  if (column.remaining !== 0) throw corrupt('a value column has bytes left over')
  return values
}
