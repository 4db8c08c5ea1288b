import Database from 'better-sqlite3'
import { join } from 'node:path'
import { EDGE_DB_FILE } from '../../edge/store/database.js'
import { decodeChunk } from '../../edge/store/reading-chunk.js'

export interface StoredReadingRow {
  ts: number
  value: number
}

export function edgeDbFile(dataDir: string): string {
  return join(dataDir, EDGE_DB_FILE)
}

/** Opens the edge database of `dataDir` with a plain better-sqlite3 connection (replays the WAL if any). */
export function openDbFile(dataDir: string, options: { readonly?: boolean } = {}): Database.Database {
  return new Database(edgeDbFile(dataDir), { fileMustExist: true, readonly: options.readonly ?? false })
}

/** `PRAGMA integrity_check` of the database: 'ok' when healthy. */
export function integrityCheck(db: Database.Database): string {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[]
  return rows.map((r) => r.integrity_check).join('\n')
}

/**
 * Every stored reading, decoded from the chunks, keyed "sensorId/metric",
 * in chunk order (each chunk sorted by ts).
 */
export function readAllReadings(db: Database.Database): Map<string, StoredReadingRow[]> {
  const rows = db
    .prepare(
      `SELECT s.sensor_id AS sensorId, s.metric AS metric, c.encoding AS encoding, c.timestamps AS timestamps, c.vals AS vals,
              c.count AS count, c.ts_min AS tsMin, c.ts_max AS tsMax
       FROM reading_chunks c JOIN series s ON s.id = c.series_id ORDER BY c.id`,
    )
    .all() as { sensorId: string; metric: string; encoding: number; timestamps: Buffer; vals: Buffer; count: number; tsMin: number; tsMax: number }[]
  const out = new Map<string, StoredReadingRow[]>()
  for (const row of rows) {
    const { timestamps, values } = decodeChunk(row.encoding, row.timestamps, row.vals)
    if (timestamps.length !== row.count) throw new Error(`chunk count ${row.count} but ${timestamps.length} readings decoded`)
    if (row.count > 0 && (timestamps[0] !== row.tsMin || timestamps[row.count - 1] !== row.tsMax)) {
      throw new Error('chunk ts_min/ts_max disagree with its readings')
    }
    const key = `${row.sensorId}/${row.metric}`
    let list = out.get(key)
    if (list === undefined) out.set(key, (list = []))
    for (let i = 0; i < timestamps.length; i++) list.push({ ts: timestamps[i] as number, value: values[i] as number })
  }
  return out
}

export function countReadings(readings: Map<string, StoredReadingRow[]>): number {
  let n = 0
  for (const list of readings.values()) n += list.length
  return n
}

export function readCounters(db: Database.Database): Record<string, number> {
  const rows = db.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]
  return Object.fromEntries(rows.map((r) => [r.name, r.value]))
}
