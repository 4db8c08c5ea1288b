import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REJECT_REASONS } from '../../shared/telemetry.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, getStats, getText, type ReadingsBody, type StatsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'

interface ErrorBody {
  code: string
  message: string
  hint: string
}

describe('edge local HTTP API', () => {
  let edge: TestEdge
  let client: MqttClient
  let base: string
  // Timestamps relative to a recent base (inside ingest.maxPastAgeMs).
  const T0 = Date.now() - 3600_000
  const at = (offset: number) => T0 + offset * 1000

  beforeAll(async () => {
    edge = await startTestEdge()
    base = edge.endpoints.httpUrl
    client = await connectMqtt(edge.endpoints.mqttUrl)
    // Three commits (each QoS 1 publish is acknowledged after its own commit), arriving out of order:
    await client.publishAsync('sensors/api-s1/temp', JSON.stringify({ readings: [10, 30, 50, 70].map((o) => ({ ts: at(o), value: o })) }), { qos: 1 })
    await client.publishAsync('sensors/api-s1/temp', JSON.stringify({ readings: [60, 20, 40, 0].map((o) => ({ ts: at(o), value: o })) }), { qos: 1 })
    await client.publishAsync('sensors/api-s1/temp', JSON.stringify({ readings: [{ ts: at(35), value: 35 }, { ts: at(5), value: 5 }] }), { qos: 1 })
    await client.publishAsync('sensors/api-s2/humidity', JSON.stringify({ ts: at(1), value: 55 }), { qos: 1 })
    await client.publishAsync('sensors/api-s1/temp', 'garbage', { qos: 1 })
    await client.publishAsync('sensors/api-s1', '{"value": 1}', { qos: 1 })
  })
  afterAll(async () => {
    await closeQuietly(client)
    await edge?.stop()
  })

  const readings = async (query: string) => {
    const r = await getJson<ReadingsBody>(base, `/v1/readings?${query}`)
    expect(r.status).toBe(200)
    return r.body
  }
  const offsets = (body: ReadingsBody) => body.readings.map((r) => (r.ts - T0) / 1000)

  describe('GET /healthz', () => {
    it('answers 200 ok with broker and storage facts', async () => {
      const r = await getJson<{ status: string; uptimeSeconds: number; broker: { kind: string; connected: boolean; url: string }; storageFailing: boolean }>(base, '/healthz')
      expect(r.status).toBe(200)
      expect(r.body).toMatchObject({ status: 'ok', storageFailing: false, broker: { kind: 'embedded', connected: true } })
      expect(r.body.uptimeSeconds).toBeGreaterThanOrEqual(0)
    })
  })

  describe('GET /v1', () => {
    it('lists the routes', async () => {
      const r = await getJson<{ routes: string[] }>(base, '/v1')
      expect(r.status).toBe(200)
      for (const route of ['GET /healthz', 'GET /metrics', 'GET /v1/sensors', 'GET /v1/stats']) expect(r.body.routes).toContain(route)
      expect(r.body.routes.some((x) => x.startsWith('GET /v1/readings'))).toBe(true)
      expect(r.body.routes.some((x) => x.startsWith('GET /v1/dead-letters'))).toBe(true)
    })
  })

  describe('GET /v1/readings', () => {
    it('returns readings that arrived out of order across commits sorted by time (asc by default)', async () => {
      const body = await readings('sensor=api-s1&metric=temp')
      expect(body).toMatchObject({ sensor: 'api-s1', metric: 'temp', count: 10 })
      expect(offsets(body)).toEqual([0, 5, 10, 20, 30, 35, 40, 50, 60, 70])
      expect(body.readings.every((r) => r.value === (r.ts - T0) / 1000)).toBe(true)
    })

    it('order=desc returns newest first', async () => {
      expect(offsets(await readings('sensor=api-s1&metric=temp&order=desc'))).toEqual([70, 60, 50, 40, 35, 30, 20, 10, 5, 0])
    })

    it('from and to are inclusive (epoch ms)', async () => {
      expect(offsets(await readings(`sensor=api-s1&metric=temp&from=${at(20)}&to=${at(50)}`))).toEqual([20, 30, 35, 40, 50])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&from=${at(35)}&to=${at(35)}`))).toEqual([35])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&from=${at(21)}&to=${at(29)}`))).toEqual([])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&from=${at(60)}`))).toEqual([60, 70])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&to=${at(5)}`))).toEqual([0, 5])
    })

    it('from and to accept ISO 8601 date-times', async () => {
      const from = new Date(at(20)).toISOString()
      const to = new Date(at(40)).toISOString()
      expect(offsets(await readings(`sensor=api-s1&metric=temp&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`))).toEqual([20, 30, 35, 40])
    })

    it('limit keeps the first readings in the requested order', async () => {
      expect(offsets(await readings('sensor=api-s1&metric=temp&limit=3'))).toEqual([0, 5, 10])
      expect(offsets(await readings('sensor=api-s1&metric=temp&limit=3&order=desc'))).toEqual([70, 60, 50])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&limit=2&order=desc&to=${at(45)}`))).toEqual([40, 35])
      expect(offsets(await readings(`sensor=api-s1&metric=temp&limit=2&from=${at(31)}`))).toEqual([35, 40])
      expect((await readings('sensor=api-s1&metric=temp&limit=100000')).count).toBe(10)
    })

    it('an unknown series is an empty answer, not an error', async () => {
      expect(await readings('sensor=nobody&metric=temp')).toEqual({ sensor: 'nobody', metric: 'temp', count: 0, readings: [] })
    })

    it.each([
      ['a missing sensor', 'metric=temp', 'sensor'],
      ['a missing metric', 'sensor=api-s1', 'metric'],
      ['a sensor id with a space', 'sensor=api%20s1&metric=temp', 'sensor'],
      ['a metric over 64 characters', `sensor=api-s1&metric=${'m'.repeat(65)}`, 'metric'],
      ['limit 0', 'sensor=api-s1&metric=temp&limit=0', 'limit'],
      ['limit above 100000', 'sensor=api-s1&metric=temp&limit=100001', 'limit'],
      ['limit not a number', 'sensor=api-s1&metric=temp&limit=ten', 'limit'],
      ['a fractional limit', 'sensor=api-s1&metric=temp&limit=2.5', 'limit'],
      ['an unknown order', 'sensor=api-s1&metric=temp&order=sideways', 'order'],
      ['from that is not a time', 'sensor=api-s1&metric=temp&from=yesterday', 'from'],
      ['to that is not a time', 'sensor=api-s1&metric=temp&to=2026-13-45', 'to'],
      ['from after to', `sensor=api-s1&metric=temp&from=${at(50)}&to=${at(10)}`, 'from'],
      ['an unknown parameter', 'sensor=api-s1&metric=temp&lmit=5', 'lmit'],
    ])('400 API_ERR_INVALID_QUERY for %s, naming the parameter', async (_name, query, parameter) => {
      const r = await getJson<ErrorBody>(base, `/v1/readings?${query}`)
      expect(r.status).toBe(400)
      expect(r.body.code).toBe('API_ERR_INVALID_QUERY')
      expect(r.body.hint.length).toBeGreaterThan(0)
      expect(r.body.message).toContain(parameter)
    })
  })

  describe('GET /v1/sensors', () => {
    it('lists every series with first/last timestamps, the latest value by time and the count', async () => {
      const r = await getJson<{ count: number; sensors: unknown[] }>(base, '/v1/sensors')
      expect(r.status).toBe(200)
      expect(r.body).toMatchObject({
        count: 2,
        sensors: [
          { sensorId: 'api-s1', metric: 'temp', firstTs: at(0), lastTs: at(70), lastValue: 70, readingCount: 10 },
          { sensorId: 'api-s2', metric: 'humidity', firstTs: at(1), lastTs: at(1), lastValue: 55, readingCount: 1 },
        ],
      })
    })
  })

  describe('GET /v1/stats', () => {
    it('counts messages, readings received, stored, rejected by reason, commits, queue depth and db size', async () => {
      const stats: StatsBody = await getStats(base)
      expect(stats).toMatchObject({ messagesReceived: 6, received: 13, stored: 11, rejectedTotal: 2, commitFailures: 0, queueDepth: 0 })
      expect(Object.keys(stats.rejected).sort()).toEqual([...REJECT_REASONS].sort())
      expect(stats.rejected).toMatchObject({ malformed_json: 1, unknown_topic: 1, invalid_value: 0 })
      expect(stats.commits).toBeGreaterThanOrEqual(3)
      expect(stats.commits).toBeLessThanOrEqual(6)
      expect(stats.dbSizeBytes).toBeGreaterThan(4096)
      expect(stats.lifetime).toEqual({ readings_stored: 11, 'readings_rejected.malformed_json': 1, 'readings_rejected.unknown_topic': 1 })
    })
  })

  describe('GET /v1/dead-letters', () => {
    it('lists dead letters newest first, with reason, detail and a payload prefix', async () => {
      const r = await getJson<{ count: number; deadLetters: { id: number; topic: string; reason: string; detail: string; payloadBytes: number; payloadPrefix: string; receivedAt: number }[] }>(base, '/v1/dead-letters')
      expect(r.status).toBe(200)
      expect(r.body.count).toBe(2)
      expect(r.body.deadLetters.map((d) => [d.topic, d.reason, d.payloadPrefix, d.payloadBytes])).toEqual([
        ['sensors/api-s1', 'unknown_topic', '{"value": 1}', 12],
        ['sensors/api-s1/temp', 'malformed_json', 'garbage', 7],
      ])
      expect(r.body.deadLetters[0]?.receivedAt).toBeGreaterThan(T0)
      expect(r.body.deadLetters[0]?.detail).toContain('sensors/<sensorId>/<metric>')
    })

    it('filters by reason and limits', async () => {
      const byReason = await getJson<{ count: number; deadLetters: { reason: string }[] }>(base, '/v1/dead-letters?reason=malformed_json')
      expect(byReason.body.deadLetters.map((d) => d.reason)).toEqual(['malformed_json'])
      const none = await getJson<{ count: number }>(base, '/v1/dead-letters?reason=non_finite_value')
      expect(none.body.count).toBe(0)
      const limited = await getJson<{ count: number }>(base, '/v1/dead-letters?limit=1')
      expect(limited.body.count).toBe(1)
    })

    it.each([
      ['an unknown reason', 'reason=too_hot', 'reason'],
      ['limit 0', 'limit=0', 'limit'],
      ['limit above 10000', 'limit=10001', 'limit'],
    ])('400 API_ERR_INVALID_QUERY for %s', async (_name, query, parameter) => {
      const r = await getJson<ErrorBody>(base, `/v1/dead-letters?${query}`)
      expect(r.status).toBe(400)
      expect(r.body.code).toBe('API_ERR_INVALID_QUERY')
      expect(r.body.message).toContain(parameter)
    })
  })

  describe('GET /metrics', () => {
    it('serves Prometheus text with the ingest series', async () => {
      const r = await getText(base, '/metrics')
      expect(r.status).toBe(200)
      expect(r.contentType).toMatch(/^text\/plain/)
      const text = r.body
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `))
        expect(line, `series ${series}`).toBeDefined()
        return Number(line?.slice(series.length + 1))
      }
      expect(text).toContain('# TYPE cloudos_edge_readings_received_total counter')
      expect(value('cloudos_edge_readings_received_total')).toBe(13)
      expect(value('cloudos_edge_readings_stored_total')).toBe(11)
      expect(value('cloudos_edge_messages_received_total')).toBe(6)
      expect(value('cloudos_edge_readings_rejected_total{reason="malformed_json"}')).toBe(1)
      expect(value('cloudos_edge_readings_rejected_total{reason="unknown_topic"}')).toBe(1)
      for (const reason of REJECT_REASONS) expect(text).toContain(`cloudos_edge_readings_rejected_total{reason="${reason}"}`)
      expect(text).toContain('# TYPE cloudos_edge_commit_duration_seconds histogram')
      const commits = value('cloudos_edge_commit_duration_seconds_count')
      expect(commits).toBeGreaterThanOrEqual(3)
      expect(value('cloudos_edge_commit_duration_seconds_bucket{le="+Inf"}')).toBe(commits)
      expect(value('cloudos_edge_commit_duration_seconds_sum')).toBeGreaterThan(0)
      expect(text).toContain('# TYPE cloudos_edge_ingest_queue_depth gauge')
      expect(value('cloudos_edge_ingest_queue_depth')).toBe(0)
      expect(text).toContain('# TYPE cloudos_edge_db_size_bytes gauge')
      expect(value('cloudos_edge_db_size_bytes')).toBeGreaterThan(4096)
      expect(value('cloudos_edge_mqtt_clients_connected')).toBeGreaterThanOrEqual(1)
    })
  })

  describe('unknown routes', () => {
    it.each([
      ['GET', '/v2/readings'],
      ['GET', '/'],
      ['POST', '/v1/stats'],
      ['DELETE', '/v1/readings'],
    ])('%s %s is 404 API_ERR_NOT_FOUND', async (method, path) => {
      // With the token: a state-changing method without it is refused before routing (401).
      const response = await fetch(new URL(path, base), { method, headers: method === 'GET' ? {} : edge.authHeaders })
      expect(response.status).toBe(404)
      const body = (await response.json()) as ErrorBody
      expect(body.code).toBe('API_ERR_NOT_FOUND')
      expect(body.message).toContain(path)
    })
  })
})
