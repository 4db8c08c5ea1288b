/**
 * The telemetry batch codec: a versioned, columnar, zstd-compressed binary
 * format for a batch of readings from many sensors, shared by the edge
 * outbox and the hub (format: docs/formats/batch.md).
 */
import { CloudosError } from '../errors.js'
import { decodeBody, encodeBody } from './batch-body.js'
import { DEFAULT_ZSTD_LEVEL, openBody, sealBody } from './batch-envelope.js'
import { DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_READINGS, type DecodeLimits, type EncodeOptions, type TelemetryBatch } from './types.js'

export type { DecodeLimits, EncodeOptions, SeriesColumn, TelemetryBatch } from './types.js'
export { DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_READINGS } from './types.js'
export { buildBatchDictionary } from './batch-dictionary.js'
export { BATCH_FORMAT_VERSION, BATCH_MAGIC, DEFAULT_ZSTD_LEVEL, HEADER_BYTES } from './batch-envelope.js'

/** Encodes a batch; throws BATCH_ERR_INVALID_BATCH for a malformed batch or option. */
export function encodeBatch(batch: TelemetryBatch, options: EncodeOptions = {}): Buffer {
  checkBatch(batch)
  const level = options.level ?? DEFAULT_ZSTD_LEVEL
  if (!Number.isInteger(level) || level < 1 || level > 22) invalid(`level must be an integer from 1 to 22, got ${String(level)}`)
  const dictionary = options.dictionary
  if (dictionary !== undefined) {
    if (!Number.isInteger(dictionary.id) || dictionary.id < 1 || dictionary.id > 0xffff_ffff) invalid(`dictionary id must be an integer from 1 to 2^32-1, got ${String(dictionary.id)}`)
    if (!(dictionary.bytes instanceof Uint8Array) || dictionary.bytes.length === 0) invalid('dictionary bytes must be a non-empty Uint8Array')
  }
  return sealBody(encodeBody(batch), { level, dictionary })
}

/**
 * Decodes a batch, refusing with a CloudosError (BATCH_ERR_TRUNCATED,
 * _CORRUPT, _CHECKSUM, _UNKNOWN_VERSION, _TOO_LARGE, _UNKNOWN_DICTIONARY)
 * anything that is not exactly what an encoder wrote.
 */
export function decodeBatch(bytes: Uint8Array, limits: DecodeLimits = {}): TelemetryBatch {
  try {
    const body = openBody(bytes, {
      maxDecompressedBytes: limits.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
      dictionaries: limits.dictionaries,
    })
    return decodeBody(body, limits.maxReadings ?? DEFAULT_MAX_READINGS)
  } catch (err) {
    if (err instanceof CloudosError) throw err
    // Whatever else trips (a crafted body that passed the CRC, an unusable
    // dictionary): still a coded refusal, never a crash.
    throw new CloudosError('BATCH_ERR_CORRUPT', `telemetry batch is corrupt: ${(err as Error).message}`)
  }
}

/** Number of readings in a batch (sum over its series). */
export function batchReadingCount(batch: TelemetryBatch): number {
  let count = 0
  for (const series of batch.series) count += series.timestamps.length
  return count
}

function checkBatch(batch: TelemetryBatch): void {
  if (typeof batch !== 'object' || batch === null) invalid('a batch must be an object {seq, series}')
  if (!Number.isSafeInteger(batch.seq) || batch.seq < 0) invalid(`seq must be a non-negative safe integer, got ${String(batch.seq)}`)
  if (!Array.isArray(batch.series)) invalid('series must be an array')
  batch.series.forEach((series, index) => {
    if (typeof series !== 'object' || series === null) invalid(`series[${index}] must be an object`)
    for (const key of ['sensorId', 'metric'] as const) {
      const text: unknown = series[key]
      if (typeof text !== 'string' || loneSurrogate.test(text)) invalid(`series[${index}].${key} must be a well-formed string`)
    }
    if (!(series.timestamps instanceof Float64Array) || !(series.values instanceof Float64Array)) {
      invalid(`series[${index}] timestamps and values must be Float64Arrays`)
    }
    if (series.timestamps.length !== series.values.length) {
      invalid(`series[${index}] has ${series.timestamps.length} timestamps but ${series.values.length} values`)
    }
  })
}

/** UTF-8 cannot carry a lone UTF-16 surrogate: such an id would not round-trip. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function invalid(message: string): never {
  throw new CloudosError('BATCH_ERR_INVALID_BATCH', `invalid telemetry batch: ${message}`)
}
