import { readFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimulatedEdge } from '../../bench/ota/ota-simulated-edge.js'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { goodFacts } from './device-helper.js'
import { makeBundle, newReleaseKey } from './ota-helper.js'

/**
 * A real hub on loopback (real clock, the rollout timer at 1 s) and simulated
 * edges with their own Ed25519 keys speaking signed HTTP: poll the target,
 * download with Range, check the sha256, report.
 */
describe('rollouts over HTTP with simulated devices', () => {
  let hub: RealHub
  let dir: TempDir
  const agent = new Agent({ keepAlive: true })
  const key = newReleaseKey()
  const devices: { deviceId: string; privateKey: ReturnType<typeof generateDeviceKeyPair>['privateKey'] }[] = []

  beforeAll(async () => {
    dir = makeTempDir('cloudos-ota-http-')
    // Plain HTTP: the simulated devices (bench/ota) speak node:http; TLS is covered by the edge-hub tests.
    hub = await startRealHub({ insecureHttp: true, config: { ota: { rolloutCheckSeconds: 1 } } })
    expect((await hub.post('/v1/release-keys', { name: 'release team', publicKeyPem: key.publicKeyPem })).status).toBe(201)
    for (let i = 0; i < 8; i++) {
      const { token } = await hub.createEnrolmentToken({ group: 'wind-farm', tier: 'edge' })
      const { publicKey, privateKey } = generateDeviceKeyPair()
      const enrolled = await hub.fetch(`${hub.url}/v1/devices/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrolmentToken: token, publicKey: encodePublicKey(publicKey), facts: goodFacts, name: `t-${i}` }) })
      expect(enrolled.status).toBe(201)
      devices.push({ deviceId: ((await enrolled.json()) as { deviceId: string }).deviceId, privateKey })
    }
  }, 60_000)

  afterAll(async () => {
    agent.destroy()
    await hub?.dispose()
    dir?.remove()
  })

  async function uploadRelease(version: string): Promise<{ id: string }> {
    const bundle = readFileSync((await makeBundle(dir.path, { key, version, payloadBytes: 3 * 1024 * 1024 })).path)
    const response = await fetch(`${hub.url}/v1/releases`, { method: 'POST', headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/octet-stream' }, body: bundle })
    expect(response.status, await response.clone().text()).toBe(201)
    return (await response.json()) as { id: string }
  }

  const edgesFor = (failing: Set<string>) =>
    devices.map((d) => ({ deviceId: d.deviceId, edge: new SimulatedEdge({ baseUrl: hub.url, deviceId: d.deviceId, privateKey: d.privateKey, agent, rangeBytes: 1024 * 1024, outcome: failing.has(d.deviceId) ? 'rolled-back' : 'committed' }) }))

  it('halts when the canary wave rolls back: the rest of the fleet is never offered the release', async () => {
    const release = await uploadRelease('3.0.0')
    const created = await hub.post<{ id: string; waves: { deviceCount: number }[] }>('/v1/rollouts', { releaseId: release.id, target: { group: 'wind-farm' }, waves: [{ percent: 25, maxFailureRate: 0 }, { percent: 60 }, { percent: 100 }] })
    expect(created.status).toBe(201)
    expect(created.body.waves.map((w) => w.deviceCount)).toEqual([2, 3, 3])
    const canary = (await hub.get<{ devices: { deviceId: string }[] }>(`/v1/rollouts/${created.body.id}/devices?wave=0`)).body.devices.map((d) => d.deviceId)
    const edges = edgesFor(new Set(canary))
    const outcomes = await Promise.all(edges.map(async ({ deviceId, edge }) => [deviceId, await edge.pollOnce()] as const))
    for (const [deviceId, outcome] of outcomes) expect(outcome, deviceId).toBe(canary.includes(deviceId) ? 'failed' : 'idle')
    const status = await hub.get<{ state: string; states: Record<string, number>; waves: { state: string }[] }>(`/v1/rollouts/${created.body.id}`)
    expect(status.body.state).toBe('halted')
    expect(status.body.waves.map((w) => w.state)).toEqual(['failed', 'waiting', 'waiting'])
    expect(status.body.states).toMatchObject({ 'rolled-back': 2, pending: 6 })
    // Later polls still get nothing, and the timer (1 s) does not move the rollout on.
    await new Promise((r) => setTimeout(r, 1500))
    for (const { edge } of edges) expect(await edge.pollOnce()).toBe('idle')
    expect((await hub.get<{ state: string }>(`/v1/rollouts/${created.body.id}`)).body.state).toBe('halted')
    const audit = await hub.get<{ entries: { action: string; target: string }[] }>('/v1/audit?limit=1000')
    // The two canaries report concurrently: the halt may come between their outcomes.
    const actions = audit.body.entries.filter((e) => e.target === created.body.id).map((e) => e.action)
    expect(actions.slice(0, 2)).toEqual(['rollout.create', 'rollout.wave_started'])
    expect(actions.slice(2).sort()).toEqual(['rollout.device_outcome', 'rollout.device_outcome', 'rollout.halted'])
  }, 60_000)

  it('a healthy rollout proceeds wave by wave (heartbeats after the commit for healthyAfterSeconds) to completion', async () => {
    const release = await uploadRelease('3.0.1')
    const created = await hub.post<{ id: string }>('/v1/rollouts', { releaseId: release.id, target: { group: 'wind-farm' }, waves: [{ percent: 50, healthyAfterSeconds: 1 }, { percent: 100, healthyAfterSeconds: 1 }] })
    expect(created.status).toBe(201)
    const firstWave = new Set((await hub.get<{ devices: { deviceId: string }[] }>(`/v1/rollouts/${created.body.id}/devices?wave=0`)).body.devices.map((d) => d.deviceId))
    const edges = edgesFor(new Set())
    const updatedAt = new Map<string, number>()
    let wavePassedAt: number | undefined
    await waitFor(
      async () => {
        for (const { deviceId, edge } of edges) {
          if ((await edge.pollOnce()) === 'updated') updatedAt.set(deviceId, Date.now())
          expect(await edge.heartbeat()).toBe(200)
        }
        const status = await hub.get<{ state: string; waves: { state: string; finishedAt: string | null }[] }>(`/v1/rollouts/${created.body.id}`)
        if (status.body.waves[0]?.state === 'passed') wavePassedAt ??= Date.parse(status.body.waves[0].finishedAt as string)
        return status.body.state === 'completed'
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the rollout to complete' },
    )
    expect(updatedAt.size).toBe(8)
    // Second-wave devices were offered the release only after the first wave passed.
    for (const [deviceId, at] of updatedAt) if (!firstWave.has(deviceId)) expect(at).toBeGreaterThanOrEqual(wavePassedAt as number)
    const devicesView = await hub.get<{ devices: { state: string; outcome: string; runningVersion: string }[] }>(`/v1/rollouts/${created.body.id}/devices`)
    expect(devicesView.body.devices.every((d) => d.state === 'committed' && d.outcome === 'healthy' && d.runningVersion === '3.0.1')).toBe(true)
    expect(edges.every(({ edge }) => edge.bytesReceived > 3 * 1024 * 1024)).toBe(true)
  }, 60_000)
})
