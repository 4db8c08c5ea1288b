import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { edgeDbFile, openDbFile, readAllReadings } from '../helpers/edge-db.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt, publishAll, publishWindowed, readingPayload } from '../helpers/mqtt-client.js'
import { connectRaw, qos0Publish } from '../helpers/raw-mqtt.js'
import { waitFor } from '../helpers/wait.js'

describe('ingest through the embedded broker over TCP (mqtt.js)', () => {
  let edge: TestEdge
  beforeAll(async () => {
    edge = await startTestEdge()
  })
  afterAll(async () => {
    await edge?.stop()
  })

  it('listens on a free port chosen by the OS and reports it', () => {
    expect(edge.endpoints.mqttPort).toBeGreaterThan(0)
    expect(edge.endpoints.mqttUrl).toBe(`mqtt://127.0.0.1:${edge.endpoints.mqttPort}`)
    expect(edge.endpoints.httpPort).toBeGreaterThan(0)
  })

  it('stores a QoS 0 reading and a QoS 1 reading, with their timestamps and values', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const ts = Date.now() - 5000
      await client.publishAsync('sensors/qos-test/temp', readingPayload(ts, 20.5), { qos: 0 })
      await client.publishAsync('sensors/qos-test/temp', readingPayload(ts + 1, 21.25), { qos: 1 })
      const body = await waitFor(
        async () => {
          const r = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=qos-test&metric=temp')
          return r.body.count === 2 ? r.body : undefined
        },
        { what: 'both readings to be stored' },
      )
      expect(body.readings).toEqual([
        { ts, value: 20.5, anomalyScore: null },
        { ts: ts + 1, value: 21.25, anomalyScore: null },
      ])
    } finally {
      await closeQuietly(client)
    }
  })

  it('stamps a reading without ts with the broker receive time', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const before = Date.now()
      await client.publishAsync('sensors/no-ts/temp', '{"value": 7}', { qos: 1 })
      const after = Date.now()
      const r = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=no-ts&metric=temp')
      expect(r.body.count).toBe(1)
      expect(r.body.readings[0]?.ts).toBeGreaterThanOrEqual(before)
      expect(r.body.readings[0]?.ts).toBeLessThanOrEqual(after)
    } finally {
      await closeQuietly(client)
    }
  })

  it('sends the QoS 1 PUBACK only after the reading is committed (visible to another SQLite connection)', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const reader = openDbFile(edge.dataDir, { readonly: true })
    try {
      const findChunkValue = reader.prepare(
        `SELECT count(*) AS n FROM reading_chunks c JOIN series s ON s.id = c.series_id
         WHERE s.sensor_id = 'acked' AND s.metric = 'v' AND c.ts_min <= ? AND c.ts_max >= ?`,
      )
      const base = Date.now() - 60_000
      const missingAtAck: number[] = []
      const messages = Array.from({ length: 400 }, (_, i) => ({ topic: 'sensors/acked/v', payload: readingPayload(base + i, i) }))
      // Checked synchronously inside each PUBACK callback: the commit must already be durable and visible.
      const outcome = await publishAll(client, messages, { qos: 1 }, (i) => {
        if ((findChunkValue.get(base + i, base + i) as { n: number }).n === 0) missingAtAck.push(i)
      })
      expect(outcome.failed).toBe(0)
      expect(outcome.acked).toHaveLength(400)
      expect(missingAtAck).toEqual([])
      const stored = readAllReadings(reader).get('acked/v') ?? []
      expect(stored.map((r) => r.ts).sort((a, b) => a - b)).toEqual(messages.map((_, i) => base + i))
    } finally {
      reader.close()
      await closeQuietly(client)
    }
  })

  it('group-commits: thousands of pipelined messages take far fewer transactions', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const before = await getStats(edge.endpoints.httpUrl)
      const base = Date.now() - 60_000
      const count = 5000
      const messages = Array.from({ length: count }, (_, i) => ({ topic: `sensors/group-${i % 10}/v`, payload: readingPayload(base + i, i) }))
      const outcome = await publishAll(client, messages, { qos: 1 })
      expect(outcome.acked).toHaveLength(count)
      const after = await getStats(edge.endpoints.httpUrl)
      expect(after.stored - before.stored).toBe(count)
      expect(after.messagesReceived - before.messagesReceived).toBe(count)
      const commits = after.commits - before.commits
      expect(commits).toBeGreaterThan(0)
      expect(commits).toBeLessThan(count / 20)
      // Many series per commit: fewer chunks than messages, and every reading is there.
      const db = openDbFile(edge.dataDir, { readonly: true })
      try {
        const all = readAllReadings(db)
        let n = 0
        for (let s = 0; s < 10; s++) n += all.get(`group-${s}/v`)?.length ?? 0
        expect(n).toBe(count)
        const chunks = (db.prepare("SELECT count(*) AS n FROM reading_chunks c JOIN series s ON s.id = c.series_id WHERE s.sensor_id LIKE 'group-%'").get() as { n: number }).n
        expect(chunks).toBeLessThanOrEqual(commits * 10)
      } finally {
        db.close()
      }
    } finally {
      await closeQuietly(client)
    }
  })

  it('QoS 0 bursts are stored completely too', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const before = await getStats(edge.endpoints.httpUrl)
      const base = Date.now() - 60_000
      const messages = Array.from({ length: 5000 }, (_, i) => ({ topic: 'sensors/burst0/v', payload: readingPayload(base + i, i) }))
      await publishWindowed(client, messages, { qos: 0 })
      await waitFor(
        async () => {
          const s = await getStats(edge.endpoints.httpUrl)
          return s.stored - before.stored === 5000 ? s : undefined
        },
        { what: '5000 QoS 0 readings to be stored' },
      )
      const db = openDbFile(edge.dataDir, { readonly: true })
      try {
        const stored = readAllReadings(db).get('burst0/v') ?? []
        expect(stored.map((r) => r.value)).toEqual(messages.map((_, i) => i))
      } finally {
        db.close()
      }
    } finally {
      await closeQuietly(client)
    }
  })

  it('stores batches: one message, many readings', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const base = Date.now() - 60_000
      const payload = JSON.stringify({ readings: Array.from({ length: 1000 }, (_, i) => ({ ts: base + i, value: i / 2 })) })
      await client.publishAsync('sensors/batched/v', payload, { qos: 1 })
      const r = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=batched&metric=v&limit=5000')
      expect(r.body.count).toBe(1000)
      expect(r.body.readings[999]).toMatchObject({ ts: base + 999, value: 499.5 })
    } finally {
      await closeQuietly(client)
    }
  })

  it('keeps the database in WAL mode while running', () => {
    const db = openDbFile(edge.dataDir, { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    } finally {
      db.close()
    }
    expect(existsSync(`${edgeDbFile(edge.dataDir)}-wal`)).toBe(true)
  })
})

describe('backpressure above the queue high-water mark', () => {
  /** Floods the edge with 10,000 QoS 0 readings in one socket write; returns the deepest queue seen. */
  async function flood(queueHighWaterMark: number): Promise<{ maxDepth: number; values: number[] }> {
    const edge = await startTestEdge({ config: { storage: { queueHighWaterMark, commitIntervalMs: 250 } } })
    const socket = await connectRaw(edge.endpoints.mqttPort as number, 'flooder')
    try {
      const base = Date.now() - 60_000
      const count = 10_000
      socket.write(Buffer.concat(Array.from({ length: count }, (_, i) => qos0Publish('sensors/hwm/v', readingPayload(base + i, i)))))
      let maxDepth = 0
      const sampler = setInterval(() => {
        maxDepth = Math.max(maxDepth, edge.runtime.pipeline.queueDepth)
      }, 1)
      try {
        await waitFor(async () => (await getStats(edge.endpoints.httpUrl)).stored === count, { timeoutMs: 20_000, what: 'all readings stored' })
      } finally {
        clearInterval(sampler)
      }
      const r = await getJson<ReadingsBody>(edge.endpoints.httpUrl, `/v1/readings?sensor=hwm&metric=v&limit=${count}`)
      return { maxDepth, values: r.body.readings.map((x) => x.value) }
    } finally {
      socket.destroy()
      await edge.stop()
    }
  }

  it('holds QoS 0 publishers back instead of buffering without bound, and loses nothing', async () => {
    const limited = await flood(50)
    // Reading stops while an acknowledgement is held: about one socket read (64 KiB, ~1,300
    // of these messages) lands above the mark, not the whole flood.
    expect(limited.maxDepth).toBeLessThan(2500)
    expect(limited.values).toEqual(Array.from({ length: 10_000 }, (_, i) => i))
    // Control: without the mark, the same flood piles up between commits.
    const unlimited = await flood(10_000_000)
    expect(unlimited.maxDepth).toBeGreaterThan(4000)
    expect(unlimited.values).toHaveLength(10_000)
  })
})
