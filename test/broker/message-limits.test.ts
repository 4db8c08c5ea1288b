import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { closeQuietly, collectMessages, connectMqtt } from '../helpers/mqtt-client.js'
import { waitFor } from '../helpers/wait.js'
import { limitHits, metricValue, openRaw, streamLargePublish, someLimits } from './broker-client-kit.js'

/** Packet size on every topic, retained message size and count. */
describe('broker message limits', () => {
  let edge: TestEdge
  let url: string
  beforeAll(async () => {
    edge = await startTestEdge({
      config: { mqtt: { limits: someLimits({ maxPacketBytes: 128 * 1024, maxRetainedMessageBytes: 1024, maxRetainedMessages: 3 }) } },
    })
    url = edge.endpoints.httpUrl
  })
  afterAll(async () => {
    await edge?.stop()
  })

  it('closes the connection of a client announcing a packet above maxPacketBytes, on any topic, before reading it', async () => {
    const client = await openRaw(edge.endpoints.mqttPort as number, { clientId: 'big-sender', keepalive: 30 })
    expect(await client.connack).toBe(0)
    const sent = await streamLargePublish(client, 'apps/camera/frame', 10 * 1024 * 1024, false)
    await client.closed
    // The broker hung up long before the 10 MB were through.
    expect(sent).toBeLessThan(10 * 1024 * 1024)
    expect(await limitHits(url, 'packet_size')).toBe(1)
    // Below the limit, any topic is fine.
    const ok = await connectMqtt(edge.endpoints.mqttUrl)
    const subscriber = await connectMqtt(edge.endpoints.mqttUrl)
    await subscriber.subscribeAsync('apps/#')
    const received = collectMessages(subscriber)
    await ok.publishAsync('apps/camera/frame', Buffer.alloc(100 * 1024, 1), { qos: 1 })
    await waitFor(() => received.length === 1, { what: 'the 100 KiB message' })
    expect(received[0]!.payload.length).toBe(100 * 1024)
    await closeQuietly(ok)
    await closeQuietly(subscriber)
  })

  it('refuses a retained message above maxRetainedMessageBytes before its PUBACK, and keeps nothing', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    const closed = new Promise((resolve) => client.once('close', () => resolve(undefined)))
    const publish = client.publishAsync('commands/boiler/burner', Buffer.alloc(2048, 0x7b), { qos: 1, retain: true }).then(
      () => 'acked',
      () => 'failed',
    )
    await closed
    await closeQuietly(client)
    expect(await publish).toBe('failed')
    expect(await limitHits(url, 'retained_size')).toBe(1)
    expect(await metricValue(url, 'cloudos_edge_mqtt_retained_messages')).toBe(0)
  })

  it('keeps at most maxRetainedMessages topics; replacing or clearing one is always allowed', async () => {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    for (const topic of ['state/a', 'state/b', 'state/c']) await client.publishAsync(topic, 'on', { qos: 1, retain: true })
    expect(await metricValue(url, 'cloudos_edge_mqtt_retained_messages')).toBe(3)
    await client.publishAsync('state/a', 'off', { qos: 1, retain: true })
    const closed = new Promise((resolve) => client.once('close', () => resolve(undefined)))
    const fourth = client.publishAsync('state/d', 'on', { qos: 1, retain: true }).then(() => 'acked', () => 'failed')
    await closed
    await closeQuietly(client)
    expect(await fourth).toBe('failed')
    expect(await limitHits(url, 'retained_count')).toBe(1)
    // An empty retained payload deletes one (MQTT-3.3.1-10) and frees its slot.
    const again = await connectMqtt(edge.endpoints.mqttUrl)
    await again.publishAsync('state/b', '', { qos: 1, retain: true })
    await again.publishAsync('state/d', 'on', { qos: 1, retain: true })
    const late = await connectMqtt(edge.endpoints.mqttUrl)
    const received = collectMessages(late)
    await late.subscribeAsync('state/#')
    await waitFor(() => received.length === 3, { what: 'the retained messages' })
    expect(Object.fromEntries(received.map((m) => [m.topic, m.payload.toString()]))).toEqual({ 'state/a': 'off', 'state/c': 'on', 'state/d': 'on' })
    await closeQuietly(again)
    await closeQuietly(late)
  })
})
