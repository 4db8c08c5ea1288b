import type { Statement } from 'better-sqlite3'
import type { SqliteDatabase } from './database.js'
import { decodeChunk, type EncodedChunk } from './reading-chunk.js'

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
  readonly #chunksAsc: Statement<[number, number, number], ChunkRow>
  readonly #chunksDesc: Statement<[number, number, number], ChunkRow>

  constructor(db: SqliteDatabase) {
    this.#db = db
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
    // Chunks hold sorted readings but may overlap each other in time (late
    // arrivals), so both orders walk chunks by the bound that can still
    // contribute and merge-sort what they collect.
    this.#chunksAsc = db.prepare(
      `SELECT ts_min, ts_max, count, encoding, timestamps, vals FROM reading_chunks
       WHERE series_id = ? AND ts_max >= ? AND ts_min <= ? ORDER BY ts_min ASC`,
    )
    this.#chunksDesc = db.prepare(
      `SELECT ts_min, ts_max, count, encoding, timestamps, vals FROM reading_chunks
       WHERE series_id = ? AND ts_max >= ? AND ts_min <= ? ORDER BY ts_max DESC`,
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
    const collected: StoredReading[] = []
    const ascending = q.order === 'asc'
    const statement = ascending ? this.#chunksAsc : this.#chunksDesc
    for (const row of statement.iterate(seriesRow.id, from, to)) {
      // Once we hold `limit` readings, a chunk that starts after (asc) or
      // ends before (desc) all of them cannot change the answer.
      if (collected.length >= q.limit) {
        collected.sort(ascending ? byTsAsc : byTsDesc)
        collected.length = q.limit
        const boundary = (collected[q.limit - 1] as StoredReading).ts
        if (ascending ? row.ts_min > boundary : row.ts_max < boundary) break
      }
      const { timestamps, values } = decodeChunk(row.encoding, row.timestamps, row.vals)
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
