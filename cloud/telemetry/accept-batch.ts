import { CloudosError } from '../../shared/errors.js'
import { IDENTIFIER_PATTERN } from '../../shared/telemetry.js'
import { decodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import type { DeviceId, TelemetryBatchInput, TelemetrySeriesExtent } from '../store/repositories.js'

export interface BatchLimits {
  maxDecompressedBytes: number
  maxReadingsPerBatch: number
}

/** Codec error codes that mean "over a size limit" (413) rather than "corrupt" (400). */
const TOO_LARGE = /TOO_LARGE|LIMIT|BOMB|TOO_MANY/

/**
 * Decodes a device's batch with the hub's limits (a bomb is refused by the
 * codec before it is inflated) and checks what the codec cannot know: ids
 * are valid series identifiers, timestamps are epoch milliseconds. Throws
 * TELEMETRY_ERR_BATCH_INVALID (400) or TELEMETRY_ERR_BATCH_TOO_LARGE (413)
 * with the reason; nothing is stored by the caller then.
 */
export function acceptBatch(bytes: Buffer, limits: BatchLimits): TelemetryBatch {
  let batch: TelemetryBatch
  try {
    batch = decodeBatch(bytes, { maxDecompressedBytes: limits.maxDecompressedBytes, maxReadings: limits.maxReadingsPerBatch })
  } catch (err) {
    const reason = String((err as { code?: unknown }).code ?? 'BATCH_ERR_UNKNOWN')
    const message = (err as Error).message
    if (TOO_LARGE.test(reason)) {
      throw new CloudosError('TELEMETRY_ERR_BATCH_TOO_LARGE', `batch refused: ${message}`, { reason, maxDecompressedBytes: limits.maxDecompressedBytes, maxReadings: limits.maxReadingsPerBatch })
    }
    throw new CloudosError('TELEMETRY_ERR_BATCH_INVALID', `batch refused: ${message}`, { reason })
  }
  const invalid = (reason: string, message: string) => new CloudosError('TELEMETRY_ERR_BATCH_INVALID', `batch ${batch.seq} refused: ${message}`, { reason })
  if (!Number.isSafeInteger(batch.seq) || batch.seq < 1) throw invalid('invalid_seq', `seq must be a positive integer, got ${batch.seq}`)
  let readings = 0
  for (const series of batch.series) {
    if (!IDENTIFIER_PATTERN.test(series.sensorId) || !IDENTIFIER_PATTERN.test(series.metric)) {
      throw invalid('invalid_identifier', `series "${series.sensorId}/${series.metric}" is not a valid sensor id / metric (${IDENTIFIER_PATTERN.source})`)
    }
    for (const ts of series.timestamps) {
      if (!Number.isSafeInteger(ts) || ts < 0) throw invalid('invalid_timestamp', `series ${series.sensorId}/${series.metric} has a timestamp that is not epoch milliseconds (${ts})`)
    }
    readings += series.timestamps.length
  }
  if (readings === 0) throw invalid('empty_batch', 'the batch holds no readings')
  if (readings > limits.maxReadingsPerBatch) {
    throw new CloudosError('TELEMETRY_ERR_BATCH_TOO_LARGE', `batch holds ${readings} readings, more than ${limits.maxReadingsPerBatch}`, { reason: 'too_many_readings', maxReadings: limits.maxReadingsPerBatch })
  }
  return batch
}

/** What the repository stores for a decoded batch: the bytes plus its extent per series. */
export function batchRecord(
  deviceId: DeviceId,
  bytes: Uint8Array,
  batch: TelemetryBatch,
  extra: { previousSeq?: number; droppedReadings?: number; receivedAt: number },
): TelemetryBatchInput {
  const series: TelemetrySeriesExtent[] = []
  let tsMin = Infinity
  let tsMax = -Infinity
  let readingCount = 0
  for (const s of batch.series) {
    const count = s.timestamps.length
    if (count === 0) continue
    let min = Infinity
    let max = -Infinity
    for (const ts of s.timestamps) {
      if (ts < min) min = ts
      if (ts > max) max = ts
    }
    series.push({ sensorId: s.sensorId, metric: s.metric, tsMin: min, tsMax: max, count })
    tsMin = Math.min(tsMin, min)
    tsMax = Math.max(tsMax, max)
    readingCount += count
  }
  return { deviceId, seq: batch.seq, bytes, readingCount, tsMin, tsMax, series, receivedAt: extra.receivedAt, ...pick(extra) }
}

const pick = (extra: { previousSeq?: number; droppedReadings?: number }) => ({
  ...(extra.previousSeq === undefined ? {} : { previousSeq: extra.previousSeq }),
  ...(extra.droppedReadings === undefined ? {} : { droppedReadings: extra.droppedReadings }),
})
