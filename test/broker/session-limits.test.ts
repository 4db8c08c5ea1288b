import { afterEach, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson } from '../helpers/http.js'
import { closeQuietly, collectMessages, connectMqtt, publishWindowed } from '../helpers/mqtt-client.js'
import { waitFor } from '../helpers/wait.js'
import { limitHits, metricValue, subscribeCodes, someLimits } from './broker-client-kit.js'

/** The session attacks: 50k subscriptions that stayed after disconnect, an absent session holding 15,000 messages. */
describe('broker session limits', () => {
  let edge: TestEdge | undefined
  afterEach(async () => {
    await edge?.stop()
    edge = undefined
  })

  it('refuses subscriptions past the per-client cap with SUBACK 0x80 and frees them at disconnect', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ maxSubscriptionsPerClient: 1000 }) } } })
    const url = edge.endpoints.httpUrl
    const client = await connectMqtt(edge.endpoints.mqttUrl, { clean: true })
    const granted: number[] = []
    // 50,000 filters in 50 SUBSCRIBE packets of 1,000.
    for (let packet = 0; packet < 50; packet++) {
      const filters = Array.from({ length: 1000 }, (_, i) => `flood/${packet}/${i}/+`)
      granted.push(...(await subscribeCodes(client, filters, 0)))
    }
    expect(granted.filter((code) => code === 0).length).toBe(1000)
    expect(granted.filter((code) => code === 0x80).length).toBe(49_000)
    expect(await limitHits(url, 'subscriptions')).toBe(49_000)
    expect(await metricValue(url, 'cloudos_edge_mqtt_subscriptions')).toBe(1000)
    expect((await getJson<{ mqttLimitsHit: string[] }>(url, '/healthz')).body.mqttLimitsHit).toContain('subscriptions')
    // Granted filters work, refused ones do not deliver.
    const received = collectMessages(client)
    const publisher = await connectMqtt(edge.endpoints.mqttUrl)
    await publisher.publishAsync('flood/0/7/x', 'granted')
    await publisher.publishAsync('flood/9/7/x', 'refused')
    await waitFor(() => received.length >= 1, { what: 'the message on a granted filter' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received.map((m) => m.payload.toString())).toEqual(['granted'])
    await closeQuietly(client)
    await waitFor(async () => (await metricValue(url, 'cloudos_edge_mqtt_subscriptions')) === 0, { what: 'the subscriptions freed' })
    // A new client gets its own cap: nothing of the first one's is left over.
    const next = await connectMqtt(edge.endpoints.mqttUrl, { clean: true })
    const codes = await subscribeCodes(next, Array.from({ length: 1000 }, (_, i) => `again/${i}`), 0)
    expect(codes.every((code) => code === 0)).toBe(true)
    await closeQuietly(next)
    await closeQuietly(publisher)
  }, 60_000)

  it('keeps only the granted subscriptions of a persistent session', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ maxSubscriptionsPerClient: 10 }) } } })
    const options = { clean: false, clientId: 'persistent-flood' }
    const first = await connectMqtt(edge.endpoints.mqttUrl, options)
    const codes = await subscribeCodes(first, Array.from({ length: 30 }, (_, i) => `p/${i}`), 1)
    expect(codes.filter((code) => code === 1).length).toBe(10)
    await closeQuietly(first)
    // aedes would persist the whole SUBSCRIBE (all 30 filters) for a persistent session.
    const again = await connectMqtt(edge.endpoints.mqttUrl, options)
    const received = collectMessages(again)
    const publisher = await connectMqtt(edge.endpoints.mqttUrl)
    for (const i of [3, 25]) await publisher.publishAsync(`p/${i}`, `to ${i}`, { qos: 1 })
    await waitFor(() => received.length >= 1, { what: 'the message on a granted filter' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received.map((m) => m.topic)).toEqual(['p/3'])
    expect(await limitHits(edge.endpoints.httpUrl, 'subscriptions')).toBe(20)
    await closeQuietly(again)
    await closeQuietly(publisher)
  })

  it('caps the queue of an absent persistent session, dropping the newer messages', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ maxQueuedMessages: 1000 }) } } })
    const url = edge.endpoints.httpUrl
    const options = { clean: false, clientId: 'absent-subscriber' }
    const subscriber = await connectMqtt(edge.endpoints.mqttUrl, options)
    await subscriber.subscribeAsync('queue/#', { qos: 1 })
    await closeQuietly(subscriber)
    const publisher = await connectMqtt(edge.endpoints.mqttUrl)
    const messages = Array.from({ length: 15_000 }, (_, i) => ({ topic: 'queue/x', payload: String(i) }))
    const outcome = await publishWindowed(publisher, messages, { qos: 1, window: 500 })
    // The publisher is never punished for the absent subscriber's queue.
    expect(outcome.acked.length).toBe(15_000)
    expect(await metricValue(url, 'cloudos_edge_mqtt_queued_messages')).toBe(1000)
    expect(await limitHits(url, 'queued_messages')).toBe(14_000)
    const back = await connectMqtt(edge.endpoints.mqttUrl, options)
    const received = collectMessages(back)
    await waitFor(() => received.length >= 1000, { what: 'the queued messages' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(received.length).toBe(1000)
    // The oldest are kept (the newer were dropped), in order.
    expect(received.slice(0, 3).map((m) => m.payload.toString())).toEqual(['0', '1', '2'])
    await waitFor(async () => (await metricValue(url, 'cloudos_edge_mqtt_queued_messages')) === 0, { what: 'the queue emptied by the PUBACKs' })
    await closeQuietly(back)
    await closeQuietly(publisher)
  }, 60_000)

  it('bounds the payload bytes queued for all absent sessions together', async () => {
    edge = await startTestEdge({ config: { mqtt: { limits: someLimits({ maxQueuedBytes: 1024 * 1024 }) } } })
    const url = edge.endpoints.httpUrl
    // Twenty absent sessions, each under its own message cap: together they would hold 20 x 100 x 10 KiB = 20 MB.
    for (let i = 0; i < 20; i++) {
      const session = await connectMqtt(edge.endpoints.mqttUrl, { clean: false, clientId: `absent-${i}` })
      await session.subscribeAsync('bulk/#', { qos: 1 })
      await closeQuietly(session)
    }
    const publisher = await connectMqtt(edge.endpoints.mqttUrl)
    const outcome = await publishWindowed(publisher, Array.from({ length: 100 }, () => ({ topic: 'bulk/blob', payload: Buffer.alloc(10 * 1024) })), { qos: 1, window: 20 })
    expect(outcome.acked.length).toBe(100)
    const queuedBytes = await metricValue(url, 'cloudos_edge_mqtt_queued_bytes')
    expect(queuedBytes).toBeLessThanOrEqual(1024 * 1024)
    expect(queuedBytes).toBeGreaterThan(1024 * 1024 - 10 * 1024 - 1)
    expect(await limitHits(url, 'queued_bytes')).toBe(20 * 100 - queuedBytes / (10 * 1024))
    await closeQuietly(publisher)
  })
})
