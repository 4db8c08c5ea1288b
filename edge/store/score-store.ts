import type { Statement } from 'better-sqlite3'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { encodeChunk } from './reading-chunk.js'
import type { ReadingsStore } from './readings-store.js'

/** One series' scores from one inference tick (or several), in arrival order. */
export interface ScoreBatch {
  sensorId: string
  metric: string
  timestamps: number[]
  scores: number[]
}

interface ScoreChunkRow {
  timestamps: Buffer
  scores: Buffer
}

/**
 * Anomaly scores stored beside the readings they describe (migration 4):
 * one packed chunk per series per score commit, joined to readings on
 * (series, ts) when read. Scores arrive a tick after their readings were
 * accepted, so they are written in their own small transaction rather than
 * holding back the readings' group commit.
 */
export class ScoreStore {
  readonly #readings: ReadingsStore
  readonly #insert: Statement<[number, number, number, number, Buffer, Buffer, string]>
  readonly #findSeries: Statement<[string, string], { id: number }>
  readonly #chunks: Statement<[number, number, number], ScoreChunkRow>
  readonly #pruneByAge: Statement<[number]>
  readonly #pruneOrphans: Statement<[]>
  readonly #write: (batches: readonly ScoreBatch[], model: string, now: number) => void

  constructor(db: SqliteDatabase, readings: ReadingsStore) {
    this.#readings = readings
    this.#insert = db.prepare(
      'INSERT INTO anomaly_score_chunks (series_id, ts_min, ts_max, count, timestamps, scores, model) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.#findSeries = db.prepare('SELECT id FROM series WHERE sensor_id = ? AND metric = ?')
    this.#chunks = db.prepare(
      'SELECT timestamps, scores FROM anomaly_score_chunks WHERE series_id = ? AND ts_max >= ? AND ts_min <= ? ORDER BY id',
    )
    this.#pruneByAge = db.prepare('DELETE FROM anomaly_score_chunks WHERE ts_max < ?')
    // Scores older than the readings left of their series (retention by byte
    // budget deleted those). min(ts_max) rides the (series_id, ts_max) index;
    // it may drop the scores of the oldest chunk's first readings a little
    // before retention takes the readings themselves.
    this.#pruneOrphans = db.prepare(
      `DELETE FROM anomaly_score_chunks WHERE ts_max < (
         SELECT min(r.ts_max) FROM reading_chunks r WHERE r.series_id = anomaly_score_chunks.series_id)`,
    )
    this.#write = db.transaction((batches: readonly ScoreBatch[], model: string, now: number) => {
      for (const batch of batches) {
        if (batch.timestamps.length === 0) continue
        const seriesId = readings.seriesIdFor(batch.sensorId, batch.metric, now)
        const chunk = encodeChunk(batch.timestamps, batch.scores)
        this.#insert.run(seriesId, chunk.tsMin, chunk.tsMax, chunk.count, chunk.timestamps, chunk.vals, model)
      }
    })
  }

  /** Writes the scores of some series in one transaction. */
  write(batches: readonly ScoreBatch[], model: string, now = Date.now()): void {
    try {
      this.#write(batches, model, now)
    } catch (err) {
      this.#readings.resetCache()
      throw err
    }
  }

  /** Scores of one series between `from` and `to` (inclusive), by reading timestamp; the latest wins for a repeated ts. */
  scoresBetween(sensorId: string, metric: string, from: number, to: number): Map<number, number> {
    const found = new Map<number, number>()
    const series = this.#findSeries.get(sensorId, metric)
    if (series === undefined) return found
    for (const row of this.#chunks.iterate(series.id, from, to)) {
      const timestamps = toFloat64(row.timestamps)
      const scores = toFloat64(row.scores)
      for (let i = 0; i < timestamps.length; i++) {
        const ts = timestamps[i] as number
        if (ts >= from && ts <= to) found.set(ts, scores[i] as number)
      }
    }
    return found
  }

  /** Retention: drops scores older than `cutoff` (epoch ms; none if undefined) and those whose readings are gone. */
  prune(cutoff: number | undefined): number {
    let deleted = 0
    if (cutoff !== undefined) deleted += this.#pruneByAge.run(cutoff).changes
    deleted += this.#pruneOrphans.run().changes
    return deleted
  }
}

function toFloat64(buf: Buffer): Float64Array {
  const copy = new Float64Array(buf.byteLength / 8)
  new Uint8Array(copy.buffer).set(buf)
  return copy
}
