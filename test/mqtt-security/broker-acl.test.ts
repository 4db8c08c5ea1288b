import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMqttUser } from '../../edge/broker/security/mqtt-users.js'
import { defaultPasswordFile } from '../../edge/broker/security/password-file.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, collectMessages, connectMqtt } from '../helpers/mqtt-client.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { denials, mosquittoPubAs, mosquittoSubAs, subackCodes } from './mqtt-clients.js'

const reading = () => JSON.stringify({ ts: Date.now() - 1000, value: 21.5 })
const readingCount = async (edge: TestEdge, sensor: string, metric: string) =>
  (await getJson<ReadingsBody>(edge.endpoints.httpUrl, `/v1/readings?sensor=${sensor}&metric=${metric}&limit=100`)).body.count

/** Quiet period after which a message that was going to be delivered would have been (deliveries take < 10 ms here). */
const SETTLE_MS = 300

describe('built-in ACLs (no mqtt.aclFile): every attack on a loopback broker with users', () => {
  let dir: TempDir
  let edge: TestEdge
  let url: string
  const clients: MqttClient[] = []
  const connect = async (options: Parameters<typeof connectMqtt>[1] = {}) => {
    const client = await connectMqtt(url, options)
    clients.push(client)
    return client
  }
  const asBoiler = { username: 'boiler-1', password: 'pw-boiler' }

  beforeAll(async () => {
    dir = makeTempDir('cloudos-mqtt-acl-')
    await addMqttUser(defaultPasswordFile(dir.path), 'boiler-1', 'pw-boiler')
    edge = await startTestEdge({ dataDir: dir.path })
    url = `mqtt://127.0.0.1:${edge.endpoints.mqttPort}`
  })
  afterAll(async () => {
    for (const client of clients) await closeQuietly(client)
    await edge?.stop()
    dir?.remove()
  })

  it('lets a sensor user write its own telemetry only: another sensor\'s is dropped though still acknowledged (QoS 1)', async () => {
    const sensor = await connect(asBoiler)
    await sensor.publishAsync('sensors/boiler-1/temp', reading(), { qos: 1 })
    // Mosquitto's behaviour: the PUBACK still comes (MQTT 3.1.1 has no negative acknowledgement), the message is dropped.
    await sensor.publishAsync('sensors/pump-7/temp', reading(), { qos: 1 })
    expect(await readingCount(edge, 'boiler-1', 'temp')).toBe(1)
    expect(await readingCount(edge, 'pump-7', 'temp')).toBe(0)
    expect(sensor.connected).toBe(true)
  })

  it('drops fake alerts and commands from a user and from anonymous clients; subscribers see none', async () => {
    const watcher = await connect()
    const seen = collectMessages(watcher)
    await watcher.subscribeAsync(['alerts/#', 'commands/#'], { qos: 1 })
    const user = await connect(asBoiler)
    const anonymous = await connect()
    for (const client of [user, anonymous]) {
      await client.publishAsync('alerts/boiler-1/temp', '{"state":"cleared"}', { qos: 1 })
      await client.publishAsync('commands/boiler/burner', '{"burner":"on"}', { qos: 1 })
      await client.publishAsync('alerts/boiler-1/temp', '{"state":"cleared"}', { qos: 0 })
    }
    // mosquitto_pub too, anonymous and with -u/-P: acknowledged, exit 0, dropped.
    const port = edge.endpoints.mqttPort as number
    expect((await mosquittoPubAs(port, {}, 'alerts/boiler-1/temp', 'fake')).code).toBe(0)
    expect((await mosquittoPubAs(port, { username: 'boiler-1', password: 'pw-boiler' }, 'commands/boiler/burner', 'on')).code).toBe(0)
    await sleep(SETTLE_MS)
    expect(seen).toEqual([])
    expect((await denials(edge)).publish).toBeGreaterThanOrEqual(8)
  })

  it('never replays a retained command left by a client (retained poisoning)', async () => {
    const attacker = await connect()
    await attacker.publishAsync('commands/boiler/burner', '{"burner":"on"}', { qos: 1, retain: true })
    const user = await connect(asBoiler)
    await user.publishAsync('commands/boiler/burner', '{"burner":"on"}', { qos: 1, retain: true })
    const port = edge.endpoints.mqttPort as number
    expect((await mosquittoPubAs(port, {}, 'commands/boiler/burner', '{"burner":"on"}', { retain: true })).code).toBe(0)
    // A later subscriber (the boiler's controller) gets nothing retained.
    const late = await connect()
    const seen = collectMessages(late)
    await late.subscribeAsync('commands/#', { qos: 1 })
    const sub = await mosquittoSubAs(port, {}, 'commands/#', 1)
    await sleep(SETTLE_MS)
    expect(seen).toEqual([])
    expect(sub.stdout).toBe('')
  })

  it('answers 0x80 to a user subscribing to # (MQTT 3.1.1 section 3.9.3), per filter of the packet', async () => {
    const user = await connect(asBoiler)
    expect(await subackCodes(user, { '#': { qos: 1 }, 'sensors/boiler-1/#': { qos: 0 } })).toEqual([128, 128])
    const anonymous = await connect()
    expect(await subackCodes(anonymous, { 'apps/#': { qos: 1 }, '$SYS/#': { qos: 0 } })).toEqual([1, 128])
    // mosquitto_sub -u/-P on # is refused too.
    const sub = await mosquittoSubAs(edge.endpoints.mqttPort as number, { username: 'boiler-1', password: 'pw-boiler' }, '#', 1)
    expect(sub.stdout).toBe('')
    expect(sub.stderr).toMatch(/denied/i)
    expect((await denials(edge)).subscribe).toBeGreaterThanOrEqual(4)
  })
})

describe('an ACL file (mqtt.aclFile, Mosquitto acl_file syntax)', () => {
  let dir: TempDir
  let edge: TestEdge
  let url: string
  let aclFile: string
  const clients: MqttClient[] = []
  const connect = async (options: Parameters<typeof connectMqtt>[1] = {}) => {
    const client = await connectMqtt(url, options)
    clients.push(client)
    return client
  }
  const rules = (extra = '') =>
    [
      'topic read apps/#',
      'topic deny apps/secret/#',
      'user boiler-1',
      'topic read commands/boiler/#',
      'topic read alerts/#',
      'user ops',
      'topic readwrite #',
      'pattern write sensors/%u/#',
      extra,
    ].join('\n')

  beforeAll(async () => {
    dir = makeTempDir('cloudos-mqtt-aclfile-')
    await addMqttUser(defaultPasswordFile(dir.path), 'boiler-1', 'pw-boiler')
    await addMqttUser(defaultPasswordFile(dir.path), 'ops', 'pw-ops')
    aclFile = join(dir.path, 'acl')
    writeFileSync(aclFile, rules())
    edge = await startTestEdge({
      dataDir: dir.path,
      config: {
        mqtt: { aclFile },
        anomaly: { enabled: false },
        rules: {
          'boiler-hot': { sensor: 'boiler-*', metric: 'temperature', max: 90, cooldownSeconds: 0, action: { topic: 'commands/boiler/burner', payload: '{"burner":"off"}' } },
        } as never,
      },
    })
    url = `mqtt://127.0.0.1:${edge.endpoints.mqttPort}`
  })
  afterAll(async () => {
    for (const client of clients) await closeQuietly(client)
    await edge?.stop()
    dir?.remove()
  })

  it('applies write grants (retained included) and read grants on every delivery, retained ones too', async () => {
    const ops = await connect({ username: 'ops', password: 'pw-ops' })
    await ops.publishAsync('commands/boiler/burner', '{"burner":"off"}', { qos: 1, retain: true })
    await ops.publishAsync('apps/open/info', 'hello', { qos: 1, retain: true })
    await ops.publishAsync('apps/secret/key', 'hunter2', { qos: 1, retain: true })
    const boiler = await connect({ username: 'boiler-1', password: 'pw-boiler' })
    const boilerSeen = collectMessages(boiler)
    expect(await subackCodes(boiler, { 'commands/boiler/#': { qos: 1 }, 'apps/#': { qos: 0 } })).toEqual([1, 128])
    const anonymous = await connect()
    const anonymousSeen = collectMessages(anonymous)
    expect(await subackCodes(anonymous, { 'apps/#': { qos: 1 } })).toEqual([1])
    await waitFor(() => boilerSeen.length === 1 && anonymousSeen.length === 1, { what: 'the retained messages each may read' })
    await ops.publishAsync('apps/secret/other', 'x', { qos: 1 })
    await ops.publishAsync('apps/open/more', 'y', { qos: 1 })
    await waitFor(() => anonymousSeen.length === 2, { what: 'the live message anonymous may read' })
    await sleep(SETTLE_MS)
    expect(boilerSeen.map((m) => [m.topic, m.retain])).toEqual([['commands/boiler/burner', true]])
    expect(anonymousSeen.map((m) => m.topic)).toEqual(['apps/open/info', 'apps/open/more'])
    expect((await denials(edge)).deliver).toBeGreaterThanOrEqual(2)
    // A pattern rule: %u is the username. Anonymous clients have no write grant at all here.
    await boiler.publishAsync('sensors/boiler-1/temp', reading(), { qos: 1 })
    await anonymous.publishAsync('sensors/anon/temp', reading(), { qos: 1 })
    expect(await readingCount(edge, 'boiler-1', 'temp')).toBe(1)
    expect(await readingCount(edge, 'anon', 'temp')).toBe(0)
  })

  it('delivers the edge\'s own alerts and rule actions (internal publishes, not subject to the ACL) to the users allowed to read them', async () => {
    const boiler = await connect({ username: 'boiler-1', password: 'pw-boiler' })
    const seen = collectMessages(boiler)
    expect(await subackCodes(boiler, { 'alerts/#': { qos: 1 }, 'commands/boiler/#': { qos: 1 } })).toEqual([1, 1])
    // A reading above the rule's max, published by the sensor user itself (pattern write sensors/%u/#).
    await boiler.publishAsync('sensors/boiler-1/temperature', JSON.stringify({ ts: Date.now() - 100, value: 95 }), { qos: 1 })
    await waitFor(() => seen.some((m) => m.topic === 'commands/boiler/burner' && !m.retain) && seen.some((m) => m.topic === 'alerts/boiler-1/temperature'), {
      what: 'the alert and the rule action',
    })
  })

  it('re-reads the ACL file when it changes or on SIGHUP, and keeps the old rules when the new file is malformed', async () => {
    const boiler = await connect({ username: 'boiler-1', password: 'pw-boiler' })
    expect(await subackCodes(boiler, 'status/#')).toEqual([128])
    writeFileSync(aclFile, 'topic read apps/# oops/#/bad\n')
    process.emit('SIGHUP', 'SIGHUP')
    expect(await subackCodes(boiler, 'commands/boiler/#')).toEqual([0])
    // SIGHUP (as for Mosquitto) takes the new file at once ...
    writeFileSync(aclFile, rules('user boiler-1\ntopic read status/#'))
    process.emit('SIGHUP', 'SIGHUP')
    expect(await subackCodes(boiler, 'status/#')).toEqual([0])
    // ... and without it the file is noticed within the poll interval.
    writeFileSync(aclFile, rules())
    await waitFor(async () => (await subackCodes(boiler, 'status/#'))[0] === 128, { what: 'the grant withdrawn', timeoutMs: 10_000 })
  })
})
