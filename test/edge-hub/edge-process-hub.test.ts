import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEVICE_IDENTITY_FILE } from '../../edge/hub-link/device-identity.js'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { getJson, getStats } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { freePort, runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'

interface HubDevice {
  id: string
  fleetStatus: 'online' | 'offline' | 'revoked' | 'never-seen'
  lastHeartbeatAt: string | null
  health: { readingsPerSecond: number; memoryBytes: number; versions?: { runtime: string } } | null
}

interface EdgeHealthBody {
  status: string
  hub: { state: string; deviceId?: string; alertsPending?: number }
}

// A real hub (cloud/app.ts on a free port, real clock) and real edge
// processes (`cloudos edge`, built CLI) that enrol, heartbeat, crash and
// come back. The hub is configured for 1 s heartbeats so "offline after 3
// missed heartbeats" happens within seconds; the edge adopts the interval
// from the hub's heartbeat answer.
describe('edge process linked to a real hub', () => {
  let hub: RealHub
  let tmp: TempDir
  let n = 0
  const children: EdgeChild[] = []
  const dataDir = () => join(tmp.path, `edge-${n++}`)
  const deviceIdOf = (dir: string) => (JSON.parse(readFileSync(join(dir, DEVICE_IDENTITY_FILE), 'utf8')) as { deviceId: string }).deviceId
  const hubDevice = async (id: string) => (await hub.get<HubDevice>(`/v1/devices/${id}`)).body
  const edgeHealth = async (edge: EdgeChild) => (await getJson<EdgeHealthBody>(edge.endpoints.httpUrl, '/healthz')).body

  async function startEdge(dir: string, args: string[], logs: string[] = []): Promise<EdgeChild> {
    const child = await spawnEdge({ dataDir: dir, extraArgs: ['--hub', hub.url, ...args], onLog: (line) => logs.push(line) })
    children.push(child)
    return child
  }

  beforeAll(async () => {
    hub = await startRealHub({
      config: {
        fleet: { heartbeatIntervalSeconds: 1, offlineAfterMissedHeartbeats: 3, livenessCheckSeconds: 1 },
        enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } },
      },
    })
    tmp = makeTempDir('cloudos-edge-hub-e2e-')
  })
  afterAll(async () => {
    for (const child of children) await child.kill()
    await hub.dispose()
    tmp.remove()
  })

  it('enrols with a token and heartbeats; killed with -9 it goes offline at the hub; restarted without the token it is online again', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken({ group: 'e2e', tier: 'edge' })
    const edge = await startEdge(dir, ['--enroll-token', token])
    const deviceId = deviceIdOf(dir)
    const online = await waitFor(async () => {
      const d = await hubDevice(deviceId)
      return d.fleetStatus === 'online' && d.health !== null && d
    }, { timeoutMs: 10_000, what: 'the device online at the hub with health' })
    expect(online.health).toMatchObject({ versions: { runtime: expect.any(String) }, memoryBytes: expect.any(Number) })
    expect(online.health?.memoryBytes).toBeGreaterThan(10_000_000)
    expect(await edgeHealth(edge)).toMatchObject({ status: 'ok', hub: { state: 'online', deviceId } })

    // Readings flow into the health the hub sees.
    const mqtt = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      await waitFor(async () => {
        await mqtt.publishAsync('sensors/e2e-1/temperature', JSON.stringify({ value: 21.5 }), { qos: 1 })
        return ((await hubDevice(deviceId)).health?.readingsPerSecond ?? 0) > 0
      }, { timeoutMs: 10_000, intervalMs: 100, what: 'readings/s > 0 at the hub' })
    } finally {
      await closeQuietly(mqtt)
    }

    await edge.kill()
    await waitFor(async () => (await hubDevice(deviceId)).fleetStatus === 'offline', { timeoutMs: 15_000, what: 'the hub to mark the killed device offline' })

    const logs: string[] = []
    const restarted = await startEdge(dir, [], logs)
    await waitFor(async () => (await hubDevice(deviceId)).fleetStatus === 'online', { timeoutMs: 10_000, what: 'the device online again' })
    expect(deviceIdOf(dir)).toBe(deviceId)
    expect((await edgeHealth(restarted)).hub).toMatchObject({ state: 'online', deviceId })
    expect(logs.join('\n')).not.toContain('enrolled with hub')
    expect(await restarted.stop()).toBe(0)
  })

  it('refuses a used token and an unreachable hub with clear codes, and stores no identity', async () => {
    const { token } = await hub.createEnrolmentToken()
    const first = await startEdge(dataDir(), ['--enroll-token', token])
    await first.stop()
    const dir = dataDir()
    const reused = await runCli(['edge', '--data-dir', dir, '--mqtt-port', '0', '--http-port', '0', '--hub', hub.url, '--enroll-token', token])
    expect(reused.code).toBe(2)
    expect(reused.stderr).toContain('EDGE_ERR_HUB_ENROLMENT_REFUSED')
    expect(reused.stderr).toContain('HUB_ERR_ENROLMENT_TOKEN_USED')
    expect(reused.stderr).toContain('hint: ')

    const down = `https://127.0.0.1:${await freePort()}`
    const unreachable = await runCli(['edge', '--data-dir', dir, '--mqtt-port', '0', '--http-port', '0', '--hub', down, '--enroll-token', token])
    expect(unreachable.code).toBe(2)
    expect(unreachable.stderr).toContain(`EDGE_ERR_HUB_UNREACHABLE: cannot enrol: the hub at ${down} is unreachable`)

    // Plain HTTP is refused unless the device itself allows it.
    const plain = await runCli(['edge', '--data-dir', dir, '--mqtt-port', '0', '--http-port', '0', '--hub', hub.url.replace('https:', 'http:'), '--enroll-token', token])
    expect(plain.code).toBe(2)
    expect(plain.stderr).toContain('EDGE_ERR_HUB_INSECURE_URL')
    expect(plain.stderr).toContain('--insecure-http')

    const noToken = await runCli(['edge', '--data-dir', dir, '--mqtt-port', '0', '--http-port', '0', '--hub', hub.url])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain('EDGE_ERR_HUB_NOT_ENROLLED')
    expect(existsSync(join(dir, DEVICE_IDENTITY_FILE))).toBe(false)

    const tokenWithoutHub = await runCli(['edge', '--data-dir', dir, '--enroll-token', token])
    expect(tokenWithoutHub.code).toBe(2)
    expect(tokenWithoutHub.stderr).toContain('CLI_ERR_INVALID_FLAG: --enroll-token needs --hub URL')
  })

  it('forwards the alerts raised while the hub was down, in order and once each, when it is back', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken()
    const edge = await startEdge(dir, ['--enroll-token', token])
    const deviceId = deviceIdOf(dir)
    await waitFor(async () => (await edgeHealth(edge)).hub.state === 'online', { what: 'link online' })

    // The rules engine's side: a second connection to the edge database,
    // as a separate component of the device would raise them.
    const db = openEdgeDatabase({ dataDir: dir, synchronous: 'normal' })
    const alerts = new AlertStore(db)
    try {
      alerts.raise({ sensorId: 'pump-1', metric: 'pressure', severity: 'info', rule: 'pressure-low', value: 0.8, message: 'before the outage' })
      await waitFor(async () => (await edgeHealth(edge)).hub.alertsPending === 0, { timeoutMs: 5000, what: 'the first alert forwarded' })

      await hub.stop()
      await waitFor(async () => (await edgeHealth(edge)).hub.state === 'offline', { timeoutMs: 10_000, what: 'link offline' })
      for (let i = 1; i <= 30; i++) {
        alerts.raise({ sensorId: `pump-${i % 4}`, metric: 'pressure', severity: i % 10 === 0 ? 'critical' : 'warning', rule: 'pressure-high', value: 10 + i, message: `offline alert ${i}` })
      }
      const local = (await getJson<{ total: number; pending: number; alerts: { seq: number; forwarded: boolean }[] }>(edge.endpoints.httpUrl, '/v1/alerts?limit=5')).body
      expect(local).toMatchObject({ total: 31, pending: 30 })
      expect(local.alerts.map((a) => [a.seq, a.forwarded])).toEqual([[31, false], [30, false], [29, false], [28, false], [27, false]])
      // Ingest does not depend on the hub.
      const mqtt = await connectMqtt(edge.endpoints.mqttUrl)
      await mqtt.publishAsync('sensors/offline-1/temperature', JSON.stringify({ value: 5 }), { qos: 1 })
      await closeQuietly(mqtt)
      expect((await getStats(edge.endpoints.httpUrl)).stored).toBeGreaterThanOrEqual(1)

      await hub.start()
      await waitFor(async () => (await edgeHealth(edge)).hub.alertsPending === 0, { timeoutMs: 20_000, what: 'the offline alerts forwarded after the hub came back' })
    } finally {
      db.close()
    }
    const atHub = (await hub.get<{ alerts: { id: number; seq: number; message: string }[] }>(`/v1/alerts?deviceId=${deviceId}&limit=1000`)).body.alerts
    // Stored once each, and in seq order (the hub's ids follow arrival).
    expect(atHub).toHaveLength(31)
    const byArrival = [...atHub].sort((a, b) => a.id - b.id).map((a) => a.seq)
    expect(byArrival).toEqual(Array.from({ length: 31 }, (_, i) => i + 1))
    const local = (await getJson<{ alerts: { forwarded: boolean }[] }>(edge.endpoints.httpUrl, '/v1/alerts?limit=100')).body
    expect(local.alerts.every((a) => a.forwarded)).toBe(true)
  })

  it('when the hub revokes the device: logs it, stops heartbeating, shows hub state revoked, keeps ingesting', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken()
    const logs: string[] = []
    const edge = await startEdge(dir, ['--enroll-token', token], logs)
    const deviceId = deviceIdOf(dir)
    await waitFor(async () => (await edgeHealth(edge)).hub.state === 'online', { what: 'link online' })
    const revoked = await hub.post(`/v1/devices/${deviceId}/revoke`)
    expect(revoked.status).toBe(200)
    await waitFor(async () => (await edgeHealth(edge)).hub.state === 'revoked', { timeoutMs: 10_000, what: 'hub state revoked at the edge' })
    expect(logs.join('\n')).toMatch(/the hub revoked this device \(dev-.*\): heartbeats and alert forwarding stopped/)
    const health = await edgeHealth(edge)
    expect(health.status).toBe('ok')
    expect((await getJson<{ hub: { state: string } }>(edge.endpoints.httpUrl, '/v1/stats')).body.hub.state).toBe('revoked')

    const mqtt = await connectMqtt(edge.endpoints.mqttUrl)
    await mqtt.publishAsync('sensors/after-revoke/temperature', JSON.stringify({ value: 7 }), { qos: 1 })
    await closeQuietly(mqtt)
    expect((await getStats(edge.endpoints.httpUrl)).stored).toBe(1)
    const heartbeatAt = (await hubDevice(deviceId)).lastHeartbeatAt
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect((await hubDevice(deviceId)).lastHeartbeatAt).toBe(heartbeatAt)
    expect(await edge.stop()).toBe(0)
  })
})
