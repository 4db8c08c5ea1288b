/**
 * Public shapes of the telemetry batch codec (docs/formats/batch.md).
 */

/** The readings of one sensor metric, as two parallel columns. */
export interface SeriesColumn {
  sensorId: string
  metric: string
  /** Epoch milliseconds; integers in practice, but any float64 round-trips bit for bit. */
  timestamps: Float64Array
  /** Values; every float64 bit pattern (NaN payloads, -0, subnormals) round-trips. */
  values: Float64Array
}

/** One batch of readings from one device. */
export interface TelemetryBatch {
  /** The device's batch sequence number, a non-negative safe integer (uint53). */
  seq: number
  series: SeriesColumn[]
}

export interface EncodeOptions {
  /** zstd level for the body, 1..22 (default {@link DEFAULT_ZSTD_LEVEL}). */
  level?: number
  /** A zstd dictionary (e.g. from trainBatchDictionary); its id (1..2^32-1) goes into the header. */
  dictionary?: { id: number; bytes: Uint8Array }
}

export interface DecodeLimits {
  /** Refuse a batch whose body would inflate beyond this many bytes, without inflating it (default 64 MiB). */
  maxDecompressedBytes?: number
  /** Refuse a batch with more readings than this (default 16,777,216). */
  maxReadings?: number
  /** zstd dictionaries by id, for batches encoded with one. */
  dictionaries?: Map<number, Uint8Array>
}

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
export const DEFAULT_MAX_READINGS = 16_777_216
