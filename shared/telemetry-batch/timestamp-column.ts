import { ByteReader, ByteWriter, corrupt } from './byte-io.js'
import { readRawFloats, writeRawFloats } from './raw-float-column.js'

/**
 * Timestamp column encodings (docs/formats/batch.md, "Timestamp column").
 * Project-specific: delta-of-delta over plain numbers is a few lines and no
 * npm library offers it for Float64Array columns with a raw fallback.
 */

export const TimestampEncoding = { raw: 0, deltaOfDelta: 1 } as const

/**
 * Timestamps of this magnitude keep every delta (< 2^50) and delta-of-delta
 * (< 2^51) exact in float64 arithmetic, so the encoder and every decoder
 * agree bit for bit. 2^49 ms is the year 19,800.
 */
const MAX_ABS_TIMESTAMP = 2 ** 49

function deltaOfDeltaApplies(timestamps: Float64Array): boolean {
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i] as number
    // -0 is an integer but would decode as +0; NaN, Infinity and fractions fail isInteger.
    if (!Number.isInteger(t) || t > MAX_ABS_TIMESTAMP || t < -MAX_ABS_TIMESTAMP || Object.is(t, -0)) return false
  }
  return true
}

/** Writes tag, payload length and payload. */
export function writeTimestampColumn(out: ByteWriter, timestamps: Float64Array): void {
  const n = timestamps.length
  if (!deltaOfDeltaApplies(timestamps)) {
    out.u8(TimestampEncoding.raw)
    out.uvarint(n * 8)
    writeRawFloats(out, timestamps)
    return
  }
  const payload = new ByteWriter(n + 16)
  let previous = 0
  let previousDelta = 0
  for (let i = 0; i < n; i++) {
    const t = timestamps[i] as number
    if (i === 0) payload.svarint(t)
    else {
      const delta = t - previous
      payload.svarint(i === 1 ? delta : delta - previousDelta)
      previousDelta = delta
    }
    previous = t
  }
  out.u8(TimestampEncoding.deltaOfDelta)
  out.uvarint(payload.length)
  out.bytes(payload.result())
}

/** Reads `count` timestamps; the column must fill its declared length exactly. */
export function readTimestampColumn(input: ByteReader, count: number): Float64Array {
  const { tag, length, column } = input.column('a timestamp column')
  let timestamps: Float64Array
  switch (tag) {
    case TimestampEncoding.raw:
      if (length !== count * 8) throw corrupt('a raw timestamp column has the wrong length')
      timestamps = readRawFloats(column, count)
      break
    case TimestampEncoding.deltaOfDelta: {
      // Every reading takes at least one byte: refuse before allocating.
      if (count > length) throw corrupt('a timestamp column is shorter than its reading count')
      timestamps = new Float64Array(count)
      let previous = 0
      let delta = 0
      for (let i = 0; i < count; i++) {
        if (i === 0) previous = column.svarint()
        else {
          delta = i === 1 ? column.svarint() : delta + column.svarint()
          previous += delta
        }
        timestamps[i] = previous
      }
      break
    }
    default:
      throw corrupt(`unknown timestamp encoding ${tag}`)
  }
  if (column.remaining !== 0) throw corrupt('a timestamp column has bytes left over')
  return timestamps
}
