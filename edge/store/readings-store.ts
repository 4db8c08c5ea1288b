import type { Statement } from 'better-sqlite3'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { decodeChunk, type EncodedChunk } from './reading-chunk.js'

/** A run of one series' readings sorted by time, decoded only when needed. */
export interface ReadingSegment {
  tsMin: number
  tsMax: number
  decode(): { timestamps: Float64Array; values: Float64Array }
}

/** Sealed readings (edge/outbox/sealed-readings.ts) as the query sees them. */
export interface SealedSegments {
  segments(seriesId: number, sensorId: string, metric: string, from: number, to: number): ReadingSegment[]
}

export interface SeriesSummary {
  sensorId: string
  metric: string
  firstTs: number | null
  lastTs: number | null
  lastValue: number | null
  readingCount: number
}

export interface ReadingsQuery {
  sensorId: string
  metric: string
  /** Inclusive lower bound, epoch ms. */
  from?: number
  /** Inclusive upper bound, epoch ms. */
  to?: number
  limit: number
  /** "asc": the first `limit` readings from `from`; "desc": the latest `limit` up to `to`. */
  order: 'asc' | 'desc'
}

export interface StoredReading {
  ts: number
  value: number
}

interface ChunkRow {
  ts_min: number
  ts_max: number
  count: number
  encoding: number
  timestamps: Buffer
  vals: Buffer
}

/**
 * Series and reading chunks. Writes happen only inside the group commit's
 * transaction (see `CommitWriter`); reads serve the local API.
 */
export class ReadingsStore {
  readonly #db: SqliteDatabase
  readonly #seriesIds = new Map<string, number>()
  readonly #findSeries: Statement<[string, string], { id: number }>
  readonly #createSeries: Statement<[string, string, number], { id: number }>
  readonly #insertChunk: Statement<[number, number, number, number, number, Buffer, Buffer, number]>
  readonly #updateSeries: Statement<[{ tsMin: number; tsMax: number; lastValue: number; count: number; id: number }]>
  readonly #chunks: Statement<[number, number, number], ChunkRow>
  readonly #sealed: SealedSegments | undefined

  /** @param sealed where sealed (compressed) readings are found, when the outbox seals them. */
  constructor(db: SqliteDatabase, sealed?: SealedSegments) {
    this.#db = db
    this.#sealed = sealed
    this.#findSeries = db.prepare('SELECT id FROM series WHERE sensor_id = ? AND metric = ?')
    this.#createSeries = db.prepare('INSERT INTO series (sensor_id, metric, created_at) VALUES (?, ?, ?) RETURNING id')
    this.#insertChunk = db.prepare(
      `INSERT INTO reading_chunks (series_id, ts_min, ts_max, count, encoding, timestamps, vals, committed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.#updateSeries = db.prepare(
      `UPDATE series SET
         first_ts = min(coalesce(first_ts, @tsMin), @tsMin),
         last_value = CASE WHEN last_ts IS NULL OR @tsMax >= last_ts THEN @lastValue ELSE last_value END,
         last_ts = max(coalesce(last_ts, @tsMax), @tsMax),
         reading_count = reading_count + @count
       WHERE id = @id`,
    )
    this.#chunks = db.prepare(
      `SELECT ts_min, ts_max, count, encoding, timestamps, vals FROM reading_chunks
       WHERE series_id = ? AND ts_max >= ? AND ts_min <= ?`,
    )
  }

  /** The id of a series, created if new. Call inside a write transaction. */
  seriesIdFor(sensorId: string, metric: string, now: number): number {
    const key = `${sensorId}\u0000${metric}`
    let id = this.#seriesIds.get(key)
    if (id === undefined) {
      id = this.#findSeries.get(sensorId, metric)?.id ?? (this.#createSeries.get(sensorId, metric, now) as { id: number }).id
      this.#seriesIds.set(key, id)
    }
    return id
  }

  /** Appends one chunk. Call inside a write transaction. */
  appendChunk(seriesId: number, chunk: EncodedChunk, now: number): void {
    this.#insertChunk.run(seriesId, chunk.tsMin, chunk.tsMax, chunk.count, chunk.encoding, chunk.timestamps, chunk.vals, now)
    this.#updateSeries.run({ tsMin: chunk.tsMin, tsMax: chunk.tsMax, lastValue: chunk.lastValue, count: chunk.count, id: seriesId })
  }

  /** Forgets cached series ids (after a rolled-back transaction created some). */
  resetCache(): void {
    this.#seriesIds.clear()
  }

  listSeries(): SeriesSummary[] {
    const rows = this.#db
      .prepare(
        `SELECT sensor_id AS sensorId, metric, first_ts AS firstTs, last_ts AS lastTs,
                last_value AS lastValue, reading_count AS readingCount
         FROM series ORDER BY sensor_id, metric`,
      )
      .all() as SeriesSummary[]
    return rows
  }

  query(q: ReadingsQuery): StoredReading[] {
    const seriesRow = this.#findSeries.get(q.sensorId, q.metric)
    if (seriesRow === undefined) return []
    const from = q.from ?? Number.MIN_SAFE_INTEGER
    const to = q.to ?? Number.MAX_SAFE_INTEGER
    const ascending = q.order === 'asc'
    // Raw chunks (recent data) and sealed batches (older data, see
    // edge/outbox/) are both runs of sorted readings that may overlap in time
    // (late arrivals): walk them by the bound that can still contribute and
    // merge-sort what they collect.
    const segments: ReadingSegment[] = []
    for (const row of this.#chunks.iterate(seriesRow.id, from, to)) {
      segments.push({ tsMin: row.ts_min, tsMax: row.ts_max, decode: () => decodeChunk(row.encoding, row.timestamps, row.vals) })
    }
    if (this.#sealed !== undefined) segments.push(...this.#sealed.segments(seriesRow.id, q.sensorId, q.metric, from, to))
    segments.sort(ascending ? (a, b) => a.tsMin - b.tsMin : (a, b) => b.tsMax - a.tsMax)
    const collected: StoredReading[] = []
    for (const segment of segments) {
      // Once we hold `limit` readings, a segment that starts after (asc) or
      // ends before (desc) all of them cannot change the answer.
      if (collected.length >= q.limit) {
        collected.sort(ascending ? byTsAsc : byTsDesc)
        collected.length = q.limit
        const boundary = (collected[q.limit - 1] as StoredReading).ts
        if (ascending ? segment.tsMin > boundary : segment.tsMax < boundary) break
      }
      const { timestamps, values } = segment.decode()
      for (let i = 0; i < timestamps.length; i++) {
        const ts = timestamps[i] as number
        if (ts >= from && ts <= to) collected.push({ ts, value: values[i] as number })
      }
    }
    collected.sort(ascending ? byTsAsc : byTsDesc)
    if (collected.length > q.limit) collected.length = q.limit
    return collected
  }
}

const byTsAsc = (a: StoredReading, b: StoredReading): number => a.ts - b.ts
const byTsDesc = (a: StoredReading, b: StoredReading): number => b.ts - a.ts
