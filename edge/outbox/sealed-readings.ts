import { decodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { CloudosError } from '../../shared/errors.js'
import type { ReadingSegment, SealedSegments } from '../store/readings-store.js'
import type { OutboxStore } from './outbox-store.js'


/** Decoded batches kept for repeated queries over the same recent range. */
const CACHED_BATCHES = 8

/**
 * Serves the local API's queries over sealed batches: finds the batches that
 * hold a series in a time range (outbox_batch_series) and decodes them on
 * demand, keeping the last few decoded.
 */
export class SealedReadings implements SealedSegments {
  readonly #outbox: OutboxStore
  readonly #cache = new Map<number, TelemetryBatch>()

  constructor(outbox: OutboxStore) {
    this.#outbox = outbox
  }

  segments(seriesId: number, sensorId: string, metric: string, from: number, to: number): ReadingSegment[] {
    return this.#outbox.batchesForSeries(seriesId, from, to).map((b) => ({
      tsMin: b.tsMin,
      tsMax: b.tsMax,
      decode: () => columnOf(this.#batch(b.seq), sensorId, metric),
    }))
  }

  /** A decoded batch (cached), or an OUTBOX_ERR_CORRUPT_BATCH error. */
  #batch(seq: number): TelemetryBatch {
    const cached = this.#cache.get(seq)
    if (cached !== undefined) return cached
    const stored = this.#outbox.get(seq)
    if (stored === undefined) return { seq, series: [] } // pruned meanwhile
    let batch: TelemetryBatch
    try {
      batch = decodeBatch(stored.bytes)
    } catch (err) {
      throw new CloudosError('OUTBOX_ERR_CORRUPT_BATCH', `sealed batch ${seq} cannot be decoded: ${(err as Error).message}`, { seq })
    }
    this.#cache.set(seq, batch)
    if (this.#cache.size > CACHED_BATCHES) this.#cache.delete(this.#cache.keys().next().value as number)
    return batch
  }
}

/** The readings of one series in a batch (a batch cut by size may hold it in several columns). */
export function columnOf(batch: TelemetryBatch, sensorId: string, metric: string): { timestamps: Float64Array; values: Float64Array } {
  const columns = batch.series.filter((s) => s.sensorId === sensorId && s.metric === metric)
  if (columns.length === 1) return columns[0] as { timestamps: Float64Array; values: Float64Array }
  let total = 0
  for (const c of columns) total += c.timestamps.length
  const timestamps = new Float64Array(total)
  const values = new Float64Array(total)
  let at = 0
  for (const c of columns) {
    timestamps.set(c.timestamps, at)
    values.set(c.values, at)
    at += c.timestamps.length
  }
  return { timestamps, values }
}
