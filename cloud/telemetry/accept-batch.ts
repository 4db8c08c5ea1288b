import { CloudosError } from '../../shared/errors.js'
import { IDENTIFIER_PATTERN } from '../../shared/telemetry.js'
import { decodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { TelemetryBatchInput, TelemetrySeriesExtent } from './telemetry-repository.js'

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
/** A decoded batch that passed the hub's checks, with its extent per series. */
export interface AcceptedBatch {
  batch: TelemetryBatch
  series: TelemetrySeriesExtent[]
  readings: number
}

export function acceptBatch(bytes: Buffer, limits: BatchLimits): AcceptedBatch {
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
  const series: TelemetrySeriesExtent[] = []
  let readings = 0
  for (const column of batch.series) {
    if (!IDENTIFIER_PATTERN.test(column.sensorId) || !IDENTIFIER_PATTERN.test(column.metric)) {
      throw invalid('invalid_identifier', `series "${column.sensorId}/${column.metric}" is not a valid sensor id / metric (${IDENTIFIER_PATTERN.source})`)
    }
    // One indexed pass: validity and extent together (this runs for every reading the hub takes).
    const timestamps = column.timestamps
    const count = timestamps.length
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < count; i++) {
      const ts = timestamps[i] as number
      if (!(ts >= 0 && ts <= Number.MAX_SAFE_INTEGER && Math.floor(ts) === ts)) {
        throw invalid('invalid_timestamp', `series ${column.sensorId}/${column.metric} has a timestamp that is not epoch milliseconds (${ts})`)
      }
      if (ts < min) min = ts
      if (ts > max) max = ts
    }
    if (count > 0) series.push({ sensorId: column.sensorId, metric: column.metric, tsMin: min, tsMax: max, count })
    readings += count
  }
  if (readings === 0) throw invalid('empty_batch', 'the batch holds no readings')
  if (readings > limits.maxReadingsPerBatch) {
    throw new CloudosError('TELEMETRY_ERR_BATCH_TOO_LARGE', `batch holds ${readings} readings, more than ${limits.maxReadingsPerBatch}`, { reason: 'too_many_readings', maxReadings: limits.maxReadingsPerBatch })
  }
  return { batch, series, readings }
}

/** What the repository stores for an accepted batch: the bytes plus its extent per series. */
export function batchRecord(
  deviceId: DeviceId,
  bytes: Uint8Array,
  accepted: AcceptedBatch,
  extra: { previousSeq?: number; droppedReadings?: number; epoch?: string; contentSha256?: string; receivedAt: number },
): TelemetryBatchInput {
  let tsMin = Infinity
  let tsMax = -Infinity
  for (const s of accepted.series) {
    tsMin = Math.min(tsMin, s.tsMin)
    tsMax = Math.max(tsMax, s.tsMax)
  }
  // A batch whose readings another epoch already holds keeps its place in the sequence with no readings (cloud/telemetry/held-readings.ts).
  if (accepted.series.length === 0) tsMin = tsMax = 0
  return { deviceId, seq: accepted.batch.seq, bytes, readingCount: accepted.readings, tsMin, tsMax, series: accepted.series, receivedAt: extra.receivedAt, ...pick(extra) }
}

const pick = (extra: { previousSeq?: number; droppedReadings?: number; epoch?: string; contentSha256?: string }) => ({
  ...(extra.epoch === undefined ? {} : { epoch: extra.epoch }),
  ...(extra.contentSha256 === undefined ? {} : { contentSha256: extra.contentSha256 }),
  ...(extra.previousSeq === undefined ? {} : { previousSeq: extra.previousSeq }),
  ...(extra.droppedReadings === undefined ? {} : { droppedReadings: extra.droppedReadings }),
})
