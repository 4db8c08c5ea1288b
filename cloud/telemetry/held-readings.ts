import { decodeBatch, encodeBatch, type SeriesColumn } from '../../shared/telemetry-batch/index.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { AcceptedBatch, BatchLimits } from './accept-batch.js'
import type { TelemetryRepository } from './telemetry-repository.js'

export interface WithoutHeld {
  accepted: AcceptedBatch
  /** The bytes to store when readings were dropped (re-encoded); undefined: store the bytes as sent. */
  bytes?: Buffer
  /** Readings dropped because another epoch of this device holds them. */
  held: number
}

/**
 * A restored edge seals again the readings that were still in an open time
 * window when its backup was taken; before the restore they had gone to the
 * hub in a batch that also held later readings, so the new batch has other
 * content and is not a duplicate. Those readings are the same readings:
 * (series, ts, value) already held from this device under another stream
 * epoch. They are dropped here, before storing, so each reading is held once
 * (issue 13). Only devices that used more than one epoch pay for the check,
 * and only against stored batches overlapping the new one in time.
 */
export async function withoutReadingsHeldInOtherEpochs(repository: TelemetryRepository, deviceId: DeviceId, epoch: string, accepted: AcceptedBatch, limits: BatchLimits): Promise<WithoutHeld> {
  const epochs = await repository.epochsOf(deviceId)
  if (!epochs.some((e) => e !== epoch)) return { accepted, held: 0 }
  let held = 0
  const series: SeriesColumn[] = []
  for (const column of accepted.batch.series) {
    const count = column.timestamps.length
    if (count === 0) continue
    let from = Infinity
    let to = -Infinity
    for (const ts of column.timestamps) {
      if (ts < from) from = ts
      if (ts > to) to = ts
    }
    const stored = await repository.batchesFor({ deviceId, sensorId: column.sensorId, metric: column.metric, from, to, exceptEpoch: epoch })
    if (stored.length === 0) {
      series.push(column)
      continue
    }
    const known = new Set<string>()
    for (const { bytes } of stored) {
      for (const s of decodeBatch(bytes, { maxDecompressedBytes: limits.maxDecompressedBytes, maxReadings: limits.maxReadingsPerBatch }).series) {
        if (s.sensorId !== column.sensorId || s.metric !== column.metric) continue
        for (let i = 0; i < s.timestamps.length; i++) known.add(`${s.timestamps[i]}:${s.values[i]}`)
      }
    }
    const keep: number[] = []
    for (let i = 0; i < count; i++) if (!known.delete(`${column.timestamps[i]}:${column.values[i]}`)) keep.push(i)
    held += count - keep.length
    if (keep.length > 0) series.push({ ...column, timestamps: Float64Array.from(keep, (i) => column.timestamps[i] as number), values: Float64Array.from(keep, (i) => column.values[i] as number) })
  }
  if (held === 0) return { accepted, held: 0 }
  const batch = { seq: accepted.batch.seq, series }
  const extents = series.map((s) => {
    let tsMin = Infinity
    let tsMax = -Infinity
    for (const ts of s.timestamps) {
      if (ts < tsMin) tsMin = ts
      if (ts > tsMax) tsMax = ts
    }
    return { sensorId: s.sensorId, metric: s.metric, tsMin, tsMax, count: s.timestamps.length }
  })
  return { accepted: { batch, series: extents, readings: accepted.readings - held }, bytes: encodeBatch(batch), held }
}
