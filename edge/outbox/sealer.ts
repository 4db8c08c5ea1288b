import type { Statement } from 'better-sqlite3'
import { encodeBatch, type SeriesColumn } from '../../shared/telemetry-batch/index.js'
import type { OutboxConfig } from '../../shared/config/edge-config-schema.js'
import type { CountersStore } from '../store/counters-store.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { decodeChunk } from '../store/reading-chunk.js'
import type { BatchSeriesEntry, OutboxStore } from './outbox-store.js'

export type SealerSettings = Pick<OutboxConfig, 'windowMs' | 'sealDelayMs' | 'maxBatchReadings' | 'compressionLevel'>

export interface SealResult {
  batches: number
  readings: number
  bytes: number
  /** Raw chunks replaced by the batches. */
  chunks: number
}

interface ChunkRow {
  id: number
  series_id: number
  ts_min: number
  ts_max: number
  count: number
  encoding: number
  timestamps: Buffer
  vals: Buffer
}

interface SeriesRow {
  id: number
  sensor_id: string
  metric: string
}

/** Raw chunks read per sealing transaction: bounds the memory and the time the write lock is held. */
const CHUNKS_PER_ROUND = 20_000

/**
 * Seals closed time windows of raw reading chunks into compressed codec
 * batches (the at-rest and upload form, about 5 bytes per reading instead of
 * 16): one batch per window (cut at `maxBatchReadings`), stored in
 * `outbox_batches` with its series index, and the raw chunks deleted in the
 * SAME transaction, so a crash leaves either the chunks or the batch, never
 * both and never neither. A window is closed `sealDelayMs` after its end, so
 * late readings still join it; a reading later still lands in a raw chunk of
 * a closed window and is sealed in a batch of its own on the next round.
 */
export class OutboxSealer {
  readonly #db: SqliteDatabase
  readonly #outbox: OutboxStore
  readonly #counters: CountersStore
  readonly #settings: () => SealerSettings
  readonly #closedChunks: Statement<[number, number], ChunkRow>
  readonly #deleteChunk: Statement<[number]>
  readonly #seriesById: Statement<[number], SeriesRow>
  readonly #seriesNames = new Map<number, SeriesRow>()

  constructor(db: SqliteDatabase, outbox: OutboxStore, counters: CountersStore, settings: () => SealerSettings) {
    this.#db = db
    this.#outbox = outbox
    this.#counters = counters
    this.#settings = settings
    this.#closedChunks = db.prepare(
      'SELECT id, series_id, ts_min, ts_max, count, encoding, timestamps, vals FROM reading_chunks WHERE ts_max < ? ORDER BY ts_min, id LIMIT ?',
    )
    this.#deleteChunk = db.prepare('DELETE FROM reading_chunks WHERE id = ?')
    this.#seriesById = db.prepare('SELECT id, sensor_id, metric FROM series WHERE id = ?')
  }

  /** The first instant not yet closed at `now`: chunks ending before it can be sealed. */
  cutoff(now: number): number {
    const { windowMs, sealDelayMs } = this.#settings()
    return Math.floor((now - sealDelayMs) / windowMs) * windowMs
  }

  /** Seals every closed window at `now`; returns what it sealed. */
  seal(now: number): SealResult {
    const total: SealResult = { batches: 0, readings: 0, bytes: 0, chunks: 0 }
    const cutoff = this.cutoff(now)
    for (;;) {
      const round = this.#sealRound(cutoff, now)
      total.batches += round.batches
      total.readings += round.readings
      total.bytes += round.bytes
      total.chunks += round.chunks
      if (round.chunks < CHUNKS_PER_ROUND) return total
    }
  }

  #sealRound(cutoff: number, now: number): SealResult {
    const settings = this.#settings()
    return this.#db.transaction((): SealResult => {
      const result: SealResult = { batches: 0, readings: 0, bytes: 0, chunks: 0 }
      const chunks = this.#closedChunks.all(cutoff, CHUNKS_PER_ROUND)
      if (chunks.length === 0) return result
      // Group by window (of the chunk's first reading), then by series.
      const windows = new Map<number, Map<number, ChunkRow[]>>()
      for (const chunk of chunks) {
        const window = Math.floor(chunk.ts_min / settings.windowMs)
        let bySeries = windows.get(window)
        if (bySeries === undefined) windows.set(window, (bySeries = new Map()))
        let list = bySeries.get(chunk.series_id)
        if (list === undefined) bySeries.set(chunk.series_id, (list = []))
        list.push(chunk)
      }
      for (const bySeries of windows.values()) {
        const columns: { seriesId: number; timestamps: Float64Array; values: Float64Array }[] = []
        for (const [seriesId, list] of bySeries) columns.push({ seriesId, ...mergeChunks(list) })
        for (const part of cutBySize(columns, settings.maxBatchReadings)) {
          const sealed = this.#storeBatch(part, settings.compressionLevel, now)
          result.batches++
          result.readings += sealed.readings
          result.bytes += sealed.bytes
        }
      }
      for (const chunk of chunks) this.#deleteChunk.run(chunk.id)
      result.chunks = chunks.length
      this.#counters.add('readings_sealed', result.readings)
      return result
    })()
  }

  #storeBatch(part: { seriesId: number; timestamps: Float64Array; values: Float64Array }[], level: number, now: number): { readings: number; bytes: number } {
    const seq = this.#outbox.nextSeq()
    const series: SeriesColumn[] = []
    const index: BatchSeriesEntry[] = []
    let readings = 0
    let tsMin = Infinity
    let tsMax = -Infinity
    for (const column of part) {
      const names = this.#seriesName(column.seriesId)
      const count = column.timestamps.length
      const first = column.timestamps[0] as number
      const last = column.timestamps[count - 1] as number
      series.push({ sensorId: names.sensor_id, metric: names.metric, timestamps: column.timestamps, values: column.values })
      index.push({ seriesId: column.seriesId, tsMin: first, tsMax: last, count })
      readings += count
      tsMin = Math.min(tsMin, first)
      tsMax = Math.max(tsMax, last)
    }
    const bytes = encodeBatch({ seq, series }, { level })
    this.#outbox.insert({ seq, tsMin, tsMax, readingCount: readings, byteSize: bytes.byteLength, bytes, sealedAt: now, series: index })
    return { readings, bytes: bytes.byteLength }
  }

  #seriesName(seriesId: number): SeriesRow {
    let row = this.#seriesNames.get(seriesId)
    if (row === undefined) {
      row = this.#seriesById.get(seriesId) as SeriesRow
      this.#seriesNames.set(seriesId, row)
    }
    return row
  }
}

/** One series' chunks as one sorted column (stable: equal timestamps keep chunk order). */
export function mergeChunks(chunks: readonly Pick<ChunkRow, 'encoding' | 'timestamps' | 'vals' | 'count'>[]): { timestamps: Float64Array; values: Float64Array } {
  let total = 0
  for (const c of chunks) total += c.count
  const timestamps = new Float64Array(total)
  const values = new Float64Array(total)
  let at = 0
  let sorted = true
  for (const c of chunks) {
    const decoded = decodeChunk(c.encoding, c.timestamps, c.vals)
    if (at > 0 && decoded.timestamps.length > 0 && (decoded.timestamps[0] as number) < (timestamps[at - 1] as number)) sorted = false
    timestamps.set(decoded.timestamps, at)
    values.set(decoded.values, at)
    at += decoded.timestamps.length
  }
  if (sorted) return { timestamps, values }
  // Late chunks overlap earlier ones: a stable sort by time.
  const order = Array.from({ length: total }, (_, i) => i)
  order.sort((a, b) => (timestamps[a] as number) - (timestamps[b] as number) || a - b)
  const ts = new Float64Array(total)
  const vs = new Float64Array(total)
  for (let i = 0; i < total; i++) {
    ts[i] = timestamps[order[i] as number] as number
    vs[i] = values[order[i] as number] as number
  }
  return { timestamps: ts, values: vs }
}

/** Splits a window's columns into batches of at most `maxReadings` (a long series is sliced). */
export function cutBySize<T extends { timestamps: Float64Array; values: Float64Array }>(columns: readonly T[], maxReadings: number): T[][] {
  const parts: T[][] = []
  let current: T[] = []
  let size = 0
  for (const column of columns) {
    let offset = 0
    const count = column.timestamps.length
    while (offset < count) {
      const take = Math.min(count - offset, maxReadings - size)
      const slice = offset === 0 && take === count ? column : { ...column, timestamps: column.timestamps.subarray(offset, offset + take), values: column.values.subarray(offset, offset + take) }
      current.push(slice)
      size += take
      offset += take
      if (size >= maxReadings) {
        parts.push(current)
        current = []
        size = 0
      }
    }
  }
  if (current.length > 0) parts.push(current)
  return parts
}
