import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { writeSimulatedBacklog } from './simulated-backlog.js'

/**
 * What a user would otherwise build to ship an offline backlog to a server:
 * JSON lines (`{"sensor":..,"metric":..,"ts":..,"value":..}`), gzip'ed, POSTed
 * in batches of N readings to a plain fastify endpoint (no authentication)
 * that inflates, parses and inserts a row per reading into SQLite (WAL,
 * synchronous=FULL like the hub, an index on (sensor, metric, ts) for the
 * queries, and the batch id as idempotency key), one transaction per request.
 */
export interface BaselineResult {
  readings: number
  seconds: number
  readingsPerSecond: number
  /** gzip'ed request bodies per reading. */
  gzipBytesPerReading: number
  /** The same JSON lines uncompressed, per reading. */
  jsonBytesPerReading: number
}

export async function runSyncBaseline(dataDir: string, options: { hours: number; sensors: number; readingsPerSecond: number; batchReadings: number; seed?: number }): Promise<BaselineResult> {
  // The backlog as the user's edge would hold it, prepared before the clock starts (like the sealed batches).
  const batches: string[] = []
  let lines: string[] = []
  let readings = 0
  writeSimulatedBacklog(
    {
      commit(series) {
        for (const s of series) {
          for (let i = 0; i < s.timestamps.length; i++) {
            lines.push(JSON.stringify({ sensor: s.key.sensorId, metric: s.key.metric, ts: s.timestamps[i], value: s.values[i] }))
            if (lines.length === options.batchReadings) {
              batches.push(lines.join('\n'))
              lines = []
            }
          }
          readings += s.timestamps.length
        }
      },
      seal() {},
    },
    { sensors: options.sensors, readingsPerSecond: options.readingsPerSecond, start: Date.now() - options.hours * 3_600_000, durationMs: options.hours * 3_600_000, seed: options.seed ?? 42, commitEveryMs: 10_000, sealEveryMs: Infinity },
  )
  if (lines.length > 0) batches.push(lines.join('\n'))

  const db = new Database(join(dataDir, 'baseline.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`CREATE TABLE readings (device TEXT NOT NULL, sensor TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
           CREATE INDEX readings_by_series ON readings (device, sensor, metric, ts);
           CREATE TABLE uploads (device TEXT NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (device, batch)) WITHOUT ROWID;`)
  const insert = db.prepare('INSERT INTO readings (device, sensor, metric, ts, value) VALUES (?, ?, ?, ?, ?)')
  const claim = db.prepare('INSERT OR IGNORE INTO uploads (device, batch) VALUES (?, ?)')
  const store = db.transaction((device: string, batch: number, rows: { sensor: string; metric: string; ts: number; value: number }[]) => {
    if (claim.run(device, batch).changes === 0) return 0
    for (const r of rows) insert.run(device, r.sensor, r.metric, r.ts, r.value)
    return rows.length
  })
  const app = Fastify({ bodyLimit: 256 * 1024 * 1024 })
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.post<{ Body: Buffer; Querystring: { batch: string } }>('/ingest', async (request) => {
    const text = gunzipSync(request.body).toString('utf8')
    const rows = text.split('\n').map((line) => JSON.parse(line) as { sensor: string; metric: string; ts: number; value: number })
    return { stored: store('device-1', Number(request.query.batch), rows) }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  try {
    let gzipBytes = 0
    let jsonBytes = 0
    const started = performance.now()
    for (const [i, body] of batches.entries()) {
      const gz = gzipSync(body)
      gzipBytes += gz.byteLength
      jsonBytes += Buffer.byteLength(body) + 1
      const response = await fetch(`${url}/ingest?batch=${i}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'identity' }, body: gz })
      if (!response.ok) throw new Error(`baseline upload failed: ${response.status} ${await response.text()}`)
      await response.arrayBuffer()
    }
    const seconds = (performance.now() - started) / 1000
    const stored = (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n
    if (stored !== readings) throw new Error(`baseline stored ${stored} of ${readings} readings`)
    return { readings, seconds, readingsPerSecond: readings / seconds, gzipBytesPerReading: gzipBytes / readings, jsonBytesPerReading: jsonBytes / readings }
  } finally {
    await app.close()
    db.close()
  }
}
