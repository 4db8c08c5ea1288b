import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMqttUser } from '../../edge/broker/security/mqtt-users.js'
import { defaultPasswordFile } from '../../edge/broker/security/password-file.js'
import type { Logger } from '../../shared/log/logger.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { connackCode, denials, mosquittoPubAs, rawConnackCode } from './mqtt-clients.js'

/** A data dir holding a password file with two sensor users, as `cloudos mqtt user add` writes it. */
async function dataDirWithUsers(): Promise<TempDir> {
  const dir = makeTempDir('cloudos-mqtt-auth-')
  await addMqttUser(defaultPasswordFile(dir.path), 'boiler-1', 'pw-boiler')
  await addMqttUser(defaultPasswordFile(dir.path), 'pump-7', 'pw-pump')
  return dir
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const push = (level: string) => (message: string) => void lines.push(`${level} ${message}`)
  return { lines, info: push('info'), warn: push('warn'), error: push('error') }
}

const readingCount = async (edge: TestEdge, sensor: string, metric: string) =>
  (await getJson<ReadingsBody>(edge.endpoints.httpUrl, `/v1/readings?sensor=${sensor}&metric=${metric}&limit=100`)).body.count

describe('a broker listening on a public interface (mqtt.host 0.0.0.0)', () => {
  it('refuses to start without authentication, with a coded error naming the fix', async () => {
    const start = startTestEdge({ config: { mqtt: { host: '0.0.0.0' } } })
    await expect(start).rejects.toMatchObject({ code: 'EDGE_ERR_MQTT_PUBLIC_NO_AUTH', message: expect.stringContaining('cloudos mqtt user add') })
  })

  it('accepts anonymous clients only with mqtt.allowAnonymous true, warning at start', async () => {
    const logger = recordingLogger()
    const edge = await startTestEdge({ config: { mqtt: { host: '0.0.0.0', allowAnonymous: true } }, logger })
    try {
      expect(logger.lines.some((l) => l.startsWith('warn') && l.includes('anonymous') && l.includes('0.0.0.0'))).toBe(true)
      expect(await connackCode(`mqtt://127.0.0.1:${edge.endpoints.mqttPort}`, {})).toBe(0)
    } finally {
      await edge.stop()
    }
  })

  describe('with users in the password file', () => {
    let dir: TempDir
    let edge: TestEdge
    let url: string
    beforeAll(async () => {
      dir = await dataDirWithUsers()
      edge = await startTestEdge({ dataDir: dir.path, config: { mqtt: { host: '0.0.0.0' } } })
      url = `mqtt://127.0.0.1:${edge.endpoints.mqttPort}`
    })
    afterAll(async () => {
      await edge?.stop()
      dir?.remove()
    })

    it('refuses anonymous clients (CONNACK 5) and wrong credentials (CONNACK 4), accepts the right ones', async () => {
      expect(await connackCode(url, {})).toBe(5)
      expect(await connackCode(url, { username: 'boiler-1', password: 'wrong' })).toBe(4)
      expect(await connackCode(url, { username: 'boiler-1' })).toBe(4)
      expect(await connackCode(url, { username: 'nobody', password: 'pw-boiler' })).toBe(4)
      expect(await connackCode(url, { username: 'pump-7', password: 'pw-boiler' })).toBe(4)
      expect(await connackCode(url, { username: 'boiler-1', password: 'pw-boiler' })).toBe(0)
      expect(await denials(edge)).toMatchObject({ connect_anonymous: 1, connect_bad_credentials: 4 })
    })

    it('takes fake telemetry from nobody: mosquitto_pub without or with a wrong password is refused and nothing is stored', async () => {
      const port = edge.endpoints.mqttPort as number
      const payload = JSON.stringify({ ts: Date.now() - 1000, value: 66 })
      const anonymous = await mosquittoPubAs(port, {}, 'sensors/boiler-1/temp', payload)
      expect(anonymous.code).not.toBe(0)
      expect(anonymous.stderr).toMatch(/not authori[sz]ed/i)
      const wrong = await mosquittoPubAs(port, { username: 'boiler-1', password: 'guess' }, 'sensors/boiler-1/temp', payload)
      expect(wrong.code).not.toBe(0)
      expect(wrong.stderr).toMatch(/bad user name or password/i)
      expect(await readingCount(edge, 'boiler-1', 'temp')).toBe(0)
      // The owner, with -u/-P (and mosquitto_pub's zero-length client id, MQTT-3.1.3-6): stored once the PUBACK came.
      const right = await mosquittoPubAs(port, { username: 'boiler-1', password: 'pw-boiler' }, 'sensors/boiler-1/temp', payload)
      expect(right.code, right.stderr).toBe(0)
      expect(await readingCount(edge, 'boiler-1', 'temp')).toBe(1)
    })
  })
})

describe('MQTT 3.1.1 client identifiers (section 3.1.3.1)', () => {
  let dir: TempDir
  let edge: TestEdge
  let url: string
  beforeAll(async () => {
    dir = await dataDirWithUsers()
    edge = await startTestEdge({ dataDir: dir.path })
    url = `mqtt://127.0.0.1:${edge.endpoints.mqttPort}`
  })
  afterAll(async () => {
    await edge?.stop()
    dir?.remove()
  })

  it('accepts a zero-length client id with clean session 1 and refuses it with clean session 0 (CONNACK 2)', async () => {
    const port = edge.endpoints.mqttPort as number
    // [MQTT-3.1.3-6]: the broker assigns an id.
    expect(await connackCode(url, { clientId: '', clean: true })).toBe(0)
    expect(await rawConnackCode(port, { clientId: '', clean: true })).toBe(0)
    // [MQTT-3.1.3-8]: identifier rejected, then the connection is closed (MQTT.js and mosquitto_pub refuse to send this CONNECT).
    expect(await rawConnackCode(port, { clientId: '', clean: false })).toBe(2)
    expect(await rawConnackCode(port, { clientId: '', clean: false, username: 'boiler-1', password: 'pw-boiler' })).toBe(2)
    expect(await rawConnackCode(port, { clientId: 'named', clean: false })).toBe(0)
    expect(await denials(edge)).toMatchObject({ connect_identifier_rejected: 2 })
  })

  it('lets only the same user take over a client id, connected or holding a persistent session', async () => {
    const owner = await connectMqtt(url, { clientId: 'boiler-ctl', clean: false, username: 'boiler-1', password: 'pw-boiler' })
    try {
      // Another user, or an anonymous client, reusing the id would kick the owner off and inherit its session.
      expect(await connackCode(url, { clientId: 'boiler-ctl', clean: false, username: 'pump-7', password: 'pw-pump' })).toBe(5)
      expect(await connackCode(url, { clientId: 'boiler-ctl', clean: true })).toBe(5)
      expect(owner.connected).toBe(true)
      await owner.endAsync()
      // The persistent session stays the owner's while it is away.
      expect(await connackCode(url, { clientId: 'boiler-ctl', clean: false, username: 'pump-7', password: 'pw-pump' })).toBe(5)
      const back = await connectMqtt(url, { clientId: 'boiler-ctl', clean: false, username: 'boiler-1', password: 'pw-boiler' })
      await closeQuietly(back)
      expect(await denials(edge)).toMatchObject({ connect_client_id_taken: 3 })
      // A clean-session id is free again once its connection ends.
      await (await connectMqtt(url, { clientId: 'passing', clean: true, username: 'boiler-1', password: 'pw-boiler' })).endAsync()
      await waitFor(async () => (await connackCode(url, { clientId: 'passing', clean: true, username: 'pump-7', password: 'pw-pump' })) === 0, { what: 'the id free again' })
    } finally {
      await closeQuietly(owner)
    }
  })
})

describe('the password file changing while the edge runs', () => {
  let dir: TempDir
  let edge: TestEdge
  let url: string
  beforeAll(async () => {
    dir = await dataDirWithUsers()
    edge = await startTestEdge({ dataDir: dir.path, config: { mqtt: { allowAnonymous: false } } })
    url = `mqtt://127.0.0.1:${edge.endpoints.mqttPort}`
  })
  afterAll(async () => {
    await edge?.stop()
    dir?.remove()
  })

  it('takes a new user without a restart and closes the connections of a removed one', async () => {
    const file = join(dir.path, 'mqtt-passwords')
    expect(await connackCode(url, {})).toBe(5)
    expect(await connackCode(url, { username: 'late', password: 'pw-late' })).toBe(4)
    await addMqttUser(file, 'late', 'pw-late')
    await waitFor(async () => (await connackCode(url, { username: 'late', password: 'pw-late' })) === 0, { what: 'the new user accepted', timeoutMs: 10_000 })
    const connected = await connectMqtt(url, { username: 'late', password: 'pw-late' })
    const closed = new Promise<void>((resolve) => connected.once('close', () => resolve()))
    await addMqttUser(file, 'late', 'rotated')
    await closed
    expect(await connackCode(url, { username: 'late', password: 'pw-late' })).toBe(4)
    expect(await connackCode(url, { username: 'late', password: 'rotated' })).toBe(0)
    await closeQuietly(connected)
  })
})
