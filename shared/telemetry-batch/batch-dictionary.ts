import { encodeBody } from './batch-body.js'
import type { TelemetryBatch } from './types.js'

/**
 * A zstd raw-content dictionary from sample batches of a device: the
 * uncompressed bodies of the samples, newest last, cut to `maxBytes`. zstd
 * uses any bytes as a raw-content dictionary (RFC 8878, section 5); small
 * batches then find their series table and column prefixes in it. A trained
 * dictionary (zstd --train) would be a little better, but zstd-napi does not
 * expose ZDICT, and this one needs no native tool. Give it an id (1..2^32-1)
 * and the same bytes to both sides: EncodeOptions.dictionary and
 * DecodeLimits.dictionaries.
 */
export function buildBatchDictionary(samples: readonly TelemetryBatch[], maxBytes = 32 * 1024): Uint8Array {
  const bodies = samples.map((batch) => encodeBody(batch))
  const total = bodies.reduce((n, b) => n + b.length, 0)
  const joined = new Uint8Array(total)
  let offset = 0
  for (const body of bodies) {
    joined.set(body, offset)
    offset += body.length
  }
  // zstd reaches the end of a dictionary with the shortest offsets: keep the newest bytes.
  return joined.slice(Math.max(0, total - maxBytes))
}
