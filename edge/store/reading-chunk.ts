/**
 * Encoding of a chunk of one series' readings as two packed columns.
 *
 * Encoding 1 (RAW_FLOAT64): `timestamps` and `vals` are little-endian float64
 * arrays of equal length, sorted by timestamp. Float64 holds epoch
 * milliseconds exactly (< 2^53) and values bit-exactly (NaN payloads, -0).
 * The compressed telemetry codec can add encodings without a migration.
 */
export const RAW_FLOAT64 = 1

export interface EncodedChunk {
  tsMin: number
  tsMax: number
  count: number
  encoding: number
  timestamps: Buffer
  vals: Buffer
  /** Value of the latest reading (by time; the last to arrive among equal timestamps). */
  lastValue: number
}

/**
 * Encodes readings given as parallel arrays (in arrival order). Sorting is
 * stable so readings with equal timestamps keep their arrival order.
 */
export function encodeChunk(timestamps: readonly number[], values: readonly number[]): EncodedChunk {
  const count = timestamps.length
  const tsOut = new Float64Array(count)
  const valOut = new Float64Array(count)
  let sorted = true
  for (let i = 1; i < count; i++) {
    if ((timestamps[i] as number) < (timestamps[i - 1] as number)) {
      sorted = false
      break
    }
  }
  if (sorted) {
    tsOut.set(timestamps)
    valOut.set(values)
  } else {
    const order = Array.from({ length: count }, (_, i) => i)
    order.sort((a, b) => (timestamps[a] as number) - (timestamps[b] as number) || a - b)
    for (let i = 0; i < count; i++) {
      const from = order[i] as number
      tsOut[i] = timestamps[from] as number
      valOut[i] = values[from] as number
    }
  }
  return {
    tsMin: tsOut[0] ?? 0,
    tsMax: tsOut[count - 1] ?? 0,
    count,
    // The stable sort puts the last arrival last among equal timestamps.
    lastValue: valOut[count - 1] ?? 0,
    encoding: RAW_FLOAT64,
    timestamps: Buffer.from(tsOut.buffer, tsOut.byteOffset, tsOut.byteLength),
    vals: Buffer.from(valOut.buffer, valOut.byteOffset, valOut.byteLength),
  }
}

export interface DecodedChunk {
  timestamps: Float64Array
  values: Float64Array
}

export function decodeChunk(encoding: number, timestamps: Buffer, vals: Buffer): DecodedChunk {
  if (encoding !== RAW_FLOAT64) throw new Error(`unknown reading chunk encoding ${encoding}`)
  if (timestamps.byteLength !== vals.byteLength || timestamps.byteLength % 8 !== 0) {
    throw new Error('corrupt reading chunk: column lengths differ or are not a multiple of 8')
  }
  return { timestamps: toFloat64Array(timestamps), values: toFloat64Array(vals) }
}

function toFloat64Array(buf: Buffer): Float64Array {
  // Blobs from SQLite are not guaranteed to be 8-byte aligned: copy when not.
  if (buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8)
  const copy = new Float64Array(buf.byteLength / 8)
  new Uint8Array(copy.buffer).set(buf)
  return copy
}
