import { afterEach, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson } from '../helpers/http.js'
import { connectMqtt, closeQuietly } from '../helpers/mqtt-client.js'
import { waitFor } from '../helpers/wait.js'
import { limitHits, metricValue, openRaw, type RawConnection, someLimits } from './broker-client-kit.js'

interface Health {
  status: string
  reasons: string[]
  mqttLimitsHit: string[]
}

/**
 * The connection attacks, over TCP against the embedded broker:
 * 2,000 idle keep-alive-0 connections were all accepted and never reaped.
 */
describe('broker connection limits', () => {
  let edge: TestEdge | undefined
  const opened: RawConnection[] = []
  afterEach(async () => {
    for (const c of opened.splice(0)) c.socket.destroy()
    await edge?.stop()
    edge = undefined
  })

  it('refuses connections above maxConnections and reaps idle keep-alive-0 clients and silent sockets', async () => {
    edge = await startTestEdge({
      config: { mqtt: { limits: someLimits({ maxConnections: 500, connectRatePerSecond: 1_000_000, connectBurst: 1_000_000, maxKeepaliveSeconds: 10, connectTimeoutMs: 14_000 }) } },
    })
    const port = edge.endpoints.mqttPort as number
    const url = edge.endpoints.httpUrl
    // 50 sockets that never send CONNECT, then 2,000 clients with keep-alive 0 that stay silent.
    const startedAt = Date.now()
    for (let i = 0; i < 50; i++) opened.push(await openRaw(port))
    for (let batch = 0; batch < 2000; batch += 200) {
      opened.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => openRaw(port, { clientId: `idle-${batch + i}`, keepalive: 0 })))))
    }
    const connacks = await Promise.all(opened.slice(50).map((c) => c.connack))
    // The flood must fit in the time before the first reaping, or reaped slots would be reused.
    expect(Date.now() - startedAt).toBeLessThan(13_000)
    const accepted = connacks.filter((code) => code === 0).length
    // 500 slots, 50 held by the silent sockets until their connect timeout.
    expect(accepted).toBe(450)
    expect(connacks.filter((code) => code === null).length).toBe(2000 - accepted)
    expect(await limitHits(url, 'connections')).toBe(2000 - accepted)
    // Keep-alive 0 became 10 s: every silent client is gone after 15 s [MQTT-3.1.2-24].
    await Promise.all(opened.map((c) => c.closed))
    await waitFor(async () => (await metricValue(url, 'cloudos_edge_mqtt_connections_open')) === 0, { what: 'every connection closed' })
    expect(await limitHits(url, 'connect_timeout')).toBe(50)
    expect(await limitHits(url, 'keepalive_clamped')).toBe(accepted)
    expect(await limitHits(url, 'keepalive_timeout')).toBe(accepted)
    const health = await getJson<Health>(url, '/healthz')
    expect(health.status).toBe(503)
    expect(health.body.status).toBe('degraded')
    expect(health.body.mqttLimitsHit).toEqual(expect.arrayContaining(['connections', 'connect_timeout']))
    expect(health.body.reasons.join(' ')).toContain('connections')
    // The edge itself is fine: a well-behaved client still connects.
    const client = await connectMqtt(edge.endpoints.mqttUrl, { keepalive: 30 })
    await closeQuietly(client)
  }, 60_000)

  it('limits the connect rate per source address', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ connectRatePerSecond: 1, connectBurst: 5 }) } } })
    const port = edge.endpoints.mqttPort as number
    for (let i = 0; i < 12; i++) opened.push(await openRaw(port, { clientId: `burst-${i}`, keepalive: 30 }))
    const connacks = await Promise.all(opened.map((c) => c.connack))
    // A burst of 5, plus at most one token refilled while the 12 connected.
    expect(connacks.filter((code) => code === 0).length).toBeGreaterThanOrEqual(5)
    expect(connacks.filter((code) => code === 0).length).toBeLessThanOrEqual(6)
    expect(await limitHits(edge.endpoints.httpUrl, 'connect_rate')).toBe(connacks.filter((code) => code === null).length)
    expect((await getJson<Health>(edge.endpoints.httpUrl, '/healthz')).body.mqttLimitsHit).toContain('connect_rate')
  })

  it('keeps a client that pings within the maximum keep-alive, and reports ok while no limit is hit', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ maxKeepaliveSeconds: 1 }) } } })
    const client = await connectMqtt(edge.endpoints.mqttUrl, { keepalive: 1 })
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(client.connected).toBe(true)
    await closeQuietly(client)
    expect((await getJson<Health>(edge.endpoints.httpUrl, '/healthz')).body).toMatchObject({ status: 'ok', reasons: [], mqttLimitsHit: [] })
  })
})
