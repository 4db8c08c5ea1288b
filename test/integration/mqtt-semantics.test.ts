import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, collectMessages, connectMqtt, readingPayload } from '../helpers/mqtt-client.js'
import { sleep, waitFor } from '../helpers/wait.js'

/** The embedded broker is a general MQTT 3.1.1 broker: local apps use it for their own topics. */
describe('embedded broker: MQTT semantics for local apps', () => {
  let edge: TestEdge
  const clients: MqttClient[] = []
  const connect = async (options: Parameters<typeof connectMqtt>[1] = {}) => {
    const client = await connectMqtt(edge.endpoints.mqttUrl, options)
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    edge = await startTestEdge()
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => closeQuietly(c)))
  })
  afterAll(async () => {
    await edge?.stop()
  })

  it('routes non-sensor topics between clients (wildcards included) and does not ingest them', async () => {
    const before = await getStats(edge.endpoints.httpUrl)
    const subscriber = await connect()
    const received = collectMessages(subscriber)
    await subscriber.subscribeAsync('apps/lights/+/state', { qos: 1 })
    const publisher = await connect()
    await publisher.publishAsync('apps/lights/kitchen/state', 'on', { qos: 1 })
    await publisher.publishAsync('apps/lights/kitchen/other', 'ignored', { qos: 1 })
    await publisher.publishAsync('apps/lights/hall/state', '{"value": 1}', { qos: 0 })
    await waitFor(() => received.length === 2, { what: 'two routed messages' })
    expect(received.map((m) => [m.topic, m.payload.toString()])).toEqual([
      ['apps/lights/kitchen/state', 'on'],
      ['apps/lights/hall/state', '{"value": 1}'],
    ])
    const after = await getStats(edge.endpoints.httpUrl)
    expect(after.messagesReceived).toBe(before.messagesReceived)
    expect(after.rejectedTotal).toBe(before.rejectedTotal)
  })

  it('delivers a retained message to a late subscriber, and a cleared one no more', async () => {
    const publisher = await connect()
    await publisher.publishAsync('apps/config/mode', 'eco', { qos: 1, retain: true })
    const late = await connect()
    const received = collectMessages(late)
    await late.subscribeAsync('apps/config/#', { qos: 1 })
    await waitFor(() => received.length === 1, { what: 'the retained message' })
    expect(received[0]).toMatchObject({ topic: 'apps/config/mode', retain: true })
    expect(received[0]?.payload.toString()).toBe('eco')
    // An empty retained payload clears it [MQTT-3.3.1-10].
    await publisher.publishAsync('apps/config/mode', '', { qos: 1, retain: true })
    const later = await connect()
    const laterReceived = collectMessages(later)
    await later.subscribeAsync('apps/config/#', { qos: 1 })
    await sleep(200)
    expect(laterReceived).toEqual([])
  })

  it('publishes the will when a client disconnects ungracefully, not when it disconnects properly', async () => {
    const watcher = await connect()
    const received = collectMessages(watcher)
    await watcher.subscribeAsync('apps/status/#', { qos: 1 })

    const graceful = await connect({ clientId: 'graceful-app', will: { topic: 'apps/status/graceful-app', payload: Buffer.from('offline'), qos: 1, retain: false } })
    await graceful.endAsync()
    const crashing = await connect({ clientId: 'crashing-app', will: { topic: 'apps/status/crashing-app', payload: Buffer.from('offline'), qos: 1, retain: false } })
    // Kill the TCP connection without a DISCONNECT packet, as a crashed device would.
    crashing.stream.destroy()
    await waitFor(() => received.length >= 1, { what: 'the will message' })
    await sleep(200)
    expect(received.map((m) => [m.topic, m.payload.toString()])).toEqual([['apps/status/crashing-app', 'offline']])
  })

  it('keeps a persistent session (clean=false): QoS 1 messages published while offline are delivered on reconnect', async () => {
    const options = { clientId: 'persistent-app', clean: false }
    const first = await connect(options)
    await first.subscribeAsync('apps/commands/persistent-app', { qos: 1 })
    await first.endAsync()

    const publisher = await connect()
    for (const n of [1, 2, 3]) await publisher.publishAsync('apps/commands/persistent-app', `cmd-${n}`, { qos: 1 })
    // A QoS 0 message to an offline client may be dropped; QoS 1 must be queued.

    // Listen before the CONNACK: queued messages follow it at once.
    const second = mqtt.connect(edge.endpoints.mqttUrl, { ...options, protocolVersion: 4, reconnectPeriod: 0 })
    clients.push(second)
    const received = collectMessages(second)
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      second.once('connect', (packet) => resolve(packet.sessionPresent))
      second.once('error', reject)
    })
    expect(sessionPresent).toBe(true)
    await waitFor(() => received.length === 3, { what: 'the 3 queued QoS 1 messages' })
    expect(received.map((m) => m.payload.toString())).toEqual(['cmd-1', 'cmd-2', 'cmd-3'])
    expect(received.every((m) => m.qos === 1)).toBe(true)
  })

  it('a clean session (clean=true) forgets the subscription', async () => {
    const first = await connect({ clientId: 'forgetful-app', clean: false })
    await first.subscribeAsync('apps/commands/forgetful-app', { qos: 1 })
    await first.endAsync()
    const clean = await connect({ clientId: 'forgetful-app', clean: true })
    const received = collectMessages(clean)
    const publisher = await connect()
    await publisher.publishAsync('apps/commands/forgetful-app', 'lost', { qos: 1 })
    await sleep(200)
    expect(received).toEqual([])
  })

  it('routes readings published on sensors/ to MQTT subscribers as well as storing them', async () => {
    const subscriber = await connect()
    const received = collectMessages(subscriber)
    await subscriber.subscribeAsync('sensors/routed/#', { qos: 1 })
    const sensor = await connect()
    const ts = Date.now() - 1000
    await sensor.publishAsync('sensors/routed/temp', readingPayload(ts, 19.5), { qos: 1 })
    await waitFor(() => received.length === 1, { what: 'the routed reading' })
    expect(received[0]?.topic).toBe('sensors/routed/temp')
    expect(JSON.parse(received[0]?.payload.toString() ?? '')).toEqual({ ts, value: 19.5 })
    const stored = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=routed&metric=temp')
    expect(stored.body.readings).toEqual([{ ts, value: 19.5, anomalyScore: null }])
  })
})

/** Telemetry routing starts with the first subscription that can match sensors/ topics. */
describe('embedded broker: routing telemetry to subscribers that come late', () => {
  let edge: TestEdge
  const clients: MqttClient[] = []
  beforeAll(async () => {
    edge = await startTestEdge()
  })
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => closeQuietly(c)))
    await edge?.stop()
  })

  it('delivers retained telemetry published before anyone subscribed, and later readings to wildcard subscribers', async () => {
    const sensor = await connectMqtt(edge.endpoints.mqttUrl)
    clients.push(sensor)
    const ts = Date.now() - 1000
    // Nobody subscribes to sensors/ yet.
    await sensor.publishAsync('sensors/early/temp', readingPayload(ts, 1), { qos: 1 })
    await sensor.publishAsync('sensors/early/state', readingPayload(ts, 2), { qos: 1, retain: true })

    const late = await connectMqtt(edge.endpoints.mqttUrl)
    clients.push(late)
    const received = collectMessages(late)
    await late.subscribeAsync('+/early/+', { qos: 1 })
    await waitFor(() => received.length === 1, { what: 'the retained reading' })
    expect(received[0]).toMatchObject({ topic: 'sensors/early/state', retain: true })

    await sensor.publishAsync('sensors/early/temp', readingPayload(ts + 1, 3), { qos: 1 })
    await waitFor(() => received.length === 2, { what: 'the reading published after the subscription' })
    expect(received[1]).toMatchObject({ topic: 'sensors/early/temp', retain: false })
    expect(JSON.parse(received[1]?.payload.toString() ?? '')).toEqual({ ts: ts + 1, value: 3 })

    // All three readings were stored, routed or not.
    const temp = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=early&metric=temp')
    expect(temp.body.readings.map((r) => r.value)).toEqual([1, 3])
    const state = await getJson<ReadingsBody>(edge.endpoints.httpUrl, '/v1/readings?sensor=early&metric=state')
    expect(state.body.readings).toEqual([{ ts, value: 2, anomalyScore: null }])
  })
})
