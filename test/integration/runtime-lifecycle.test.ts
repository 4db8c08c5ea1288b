import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import { startTestEdge } from '../harness/in-process-edge.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { canConnect } from '../helpers/processes.js'
import { closeQuietly, connectMqtt, readingPayload } from '../helpers/mqtt-client.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { openDbFile } from '../helpers/edge-db.js'
import { waitFor } from '../helpers/wait.js'

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 })
    })
  })
}

describe('EdgeRuntime lifecycle', () => {
  it('has no endpoints before start', () => {
    const runtime = new EdgeRuntime({ dataDir: useTempDir(), config: loadEdgeConfig(undefined) })
    expect(() => runtime.endpoints).toThrow(/not started/)
  })

  it('a busy MQTT port fails start with EADDRINUSE and releases everything it opened', async () => {
    const dataDir = useTempDir()
    const busy = await listen()
    try {
      const config = loadEdgeConfig(undefined, { mqtt: { host: '127.0.0.1', port: busy.port }, http: { port: 0 } })
      const runtime = new EdgeRuntime({ dataDir, config })
      await expect(runtime.start()).rejects.toMatchObject({ code: 'EADDRINUSE' })
    } finally {
      busy.server.close()
    }
    // The database was closed: a new runtime on the same data dir starts and works.
    const edge = await startTestEdge({ dataDir })
    try {
      expect((await getJson(edge.endpoints.httpUrl, '/healthz')).status).toBe(200)
    } finally {
      await edge.stop()
    }
  })

  it('stop() is idempotent and closes the broker and the HTTP API', async () => {
    const edge = await startTestEdge()
    const { mqttPort, httpPort } = edge.endpoints
    await Promise.all([edge.runtime.stop(), edge.runtime.stop()])
    await edge.stop()
    expect(await canConnect(mqttPort as number)).toBe(false)
    expect(await canConnect(httpPort)).toBe(false)
  })

  it('keeps readings and lifetime counters across restarts on the same data dir', async () => {
    const dataDir = useTempDir()
    const ts = Date.now() - 1000
    const first = await startTestEdge({ dataDir })
    const client = await connectMqtt(first.endpoints.mqttUrl)
    try {
      await client.publishAsync('sensors/persist/temp', readingPayload(ts, 1.5), { qos: 1 })
      await client.publishAsync('sensors/persist/temp', 'nope', { qos: 1 })
    } finally {
      await closeQuietly(client)
      await first.stop()
    }
    const second = await startTestEdge({ dataDir })
    try {
      const r = await getJson<ReadingsBody>(second.endpoints.httpUrl, '/v1/readings?sensor=persist&metric=temp')
      expect(r.body.readings).toEqual([{ ts, value: 1.5, anomalyScore: null }])
      const stats = await getStats(second.endpoints.httpUrl)
      // Since-start counters begin again; lifetime counters are kept in the database.
      expect(stats.stored).toBe(0)
      expect(stats.lifetime).toEqual({ readings_stored: 1, 'readings_rejected.malformed_json': 1 })
      const letters = await getJson<{ count: number }>(second.endpoints.httpUrl, '/v1/dead-letters')
      expect(letters.body.count).toBe(1)
    } finally {
      await second.stop()
    }
  })

  it('acknowledges QoS 1 messages that are in flight when stop() is called (commit first, then close)', async () => {
    const dataDir = useTempDir()
    const edge = await startTestEdge({ dataDir, config: { storage: { commitIntervalMs: 1000 } } })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      await client.publishAsync('sensors/inflight/temp', readingPayload(undefined, 0), { qos: 1 }) // immediate first commit
      const pending = client.publishAsync('sensors/inflight/temp', readingPayload(undefined, 1), { qos: 1 })
      // Wait until the edge holds the message for its next group commit, then stop.
      for (let i = 0; i < 200 && edge.runtime.pipeline.queueDepth === 0; i++) await new Promise((r) => setTimeout(r, 5))
      expect(edge.runtime.pipeline.queueDepth).toBe(1)
      const acked = pending.then(
        () => 'acked',
        (err: Error) => `failed: ${err.message}`,
      )
      await edge.stop()
      // The PUBACK of the committed message must reach the publisher before the broker closes its connection.
      const outcome = await Promise.race([acked, new Promise((resolve) => setTimeout(() => resolve('no PUBACK within 2 s of stop()'), 2000))])
      expect(outcome).toBe('acked')
    } finally {
      await closeQuietly(client)
      await edge.stop()
    }
    const again = await startTestEdge({ dataDir })
    try {
      const r = await getJson<ReadingsBody>(again.endpoints.httpUrl, '/v1/readings?sensor=inflight&metric=temp')
      expect(r.body.count).toBe(2)
    } finally {
      await again.stop()
    }
  })

  it('a failing commit (database locked) keeps the readings and withholds the PUBACK, reports degraded health, then recovers', async () => {
    const edge = await startTestEdge()
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const locker = openDbFile(edge.dataDir)
    try {
      await client.publishAsync('sensors/locked/temp', readingPayload(undefined, 1), { qos: 1 })
      // Another writer holds the write lock: the edge's next commit fails after its busy timeout.
      locker.exec('BEGIN IMMEDIATE')
      let acked = false
      const pending = client.publishAsync('sensors/locked/temp', readingPayload(undefined, 2), { qos: 1 }).then(() => {
        acked = true
      })
      pending.catch(() => undefined) // awaited below; do not report it twice if the test fails first
      const failing = await waitFor(
        async () => {
          const s = await getStats(edge.endpoints.httpUrl)
          return s.commitFailures > 0 ? s : undefined
        },
        { timeoutMs: 20_000, what: 'a failed commit' },
      )
      expect(failing.queueDepth).toBe(1)
      const health = await getJson<{ status: string; storageFailing: boolean }>(edge.endpoints.httpUrl, '/healthz')
      expect(health.status).toBe(503)
      expect(health.body).toMatchObject({ status: 'degraded', storageFailing: true })
      expect(acked).toBe(false)
      locker.exec('COMMIT')
      await pending
      const r = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=locked&metric=temp')
      expect(r.body.readings.map((x) => x.value)).toEqual([1, 2])
      expect((await getJson(edge.endpoints.httpUrl, '/healthz')).status).toBe(200)
    } finally {
      if (locker.inTransaction) locker.exec('ROLLBACK')
      locker.close()
      await closeQuietly(client)
      await edge.stop()
    }
  })
})
