/**
 * Entry point of the hand-built baseline's subscriber process: what a user
 * would write to get MQTT telemetry into SQLite without CloudOS Lite. One
 * mqtt.js client subscribed to `sensors/#`, JSON.parse per message, rows
 * gathered in memory and inserted with one prepared statement in batched
 * transactions (every `flushRows` rows or `flushIntervalMs`), into a plain
 * table with an index that answers the same per-series time-range queries as
 * the edge. It reports its committed count to the orchestrator after each
 * transaction.
 *
 * Note what it does not do, in the baseline's favour: no validation beyond
 * JSON.parse, no dead letters, and its QoS 1 PUBACKs come from Mosquitto on
 * receipt, not after the commit (a crash loses what was acknowledged but not
 * yet committed).
 */
import Database from 'better-sqlite3'
import mqtt from 'mqtt'
import { benchNow } from '../measure/bench-clock.js'
import type { SubscriberJob, ToSubscriber, FromSubscriber } from './ingest-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'

export const BASELINE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS readings (sensor TEXT, metric TEXT, ts INTEGER, value REAL);
  CREATE INDEX IF NOT EXISTS readings_by_series ON readings (sensor, metric, ts);
`

type Row = [sensor: string, metric: string, ts: number, value: number]

let shutdown: (() => Promise<void>) | undefined

process.on('message', (message: ToSubscriber) => {
  if (message.type === 'job') {
    try {
      start(message.job)
    } catch (err) {
      sendToParent<FromSubscriber>({ type: 'error', message: (err as Error).message })
    }
  } else if (message.type === 'exit') {
    void (shutdown ?? (async () => {}))().finally(() => process.exit(0))
  }
})
process.on('disconnect', () => process.exit(0))

function start(job: SubscriberJob): void {
  const db = new Database(job.dbFile)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(BASELINE_SCHEMA)
  const insert = db.prepare('INSERT INTO readings (sensor, metric, ts, value) VALUES (?, ?, ?, ?)')
  const insertAll = db.transaction((rows: Row[]) => {
    for (const row of rows) insert.run(row)
  })

  let pending: Row[] = []
  let committed = 0
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const rows = pending
    pending = []
    insertAll(rows)
    committed += rows.length
    sendToParent<FromSubscriber>({ type: 'committed', committed, at: benchNow() })
  }

  const client = mqtt.connect(job.brokerUrl, {
    clientId: `bench-baseline-${process.pid}`,
    clean: true,
    keepalive: 900,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  client.on('error', (err) => sendToParent<FromSubscriber>({ type: 'error', message: `baseline subscriber: ${err.message}` }))
  client.on('connect', () => {
    client.subscribe('sensors/#', { qos: job.qos }, (err) => {
      if (err) sendToParent<FromSubscriber>({ type: 'error', message: `baseline subscriber could not subscribe: ${err.message}` })
      else sendToParent<FromSubscriber>({ type: 'ready' })
    })
  })
  client.on('message', (topic, payload) => {
    const [, sensor, metric] = topic.split('/')
    if (sensor === undefined || metric === undefined) return
    let body: { ts?: number; value?: number; readings?: { ts: number; value: number }[] }
    try {
      body = JSON.parse(payload.toString()) as typeof body
    } catch {
      return
    }
    if (Array.isArray(body.readings)) {
      for (const r of body.readings) pending.push([sensor, metric, r.ts, r.value])
    } else if (typeof body.value === 'number') {
      pending.push([sensor, metric, body.ts ?? Date.now(), body.value])
    }
    if (pending.length >= job.flushRows) flush()
    else timer ??= setTimeout(flush, job.flushIntervalMs)
  })

  shutdown = async () => {
    flush()
    await client.endAsync().catch(() => {})
    db.close()
  }
}
