import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../helpers/temp-dir.js'
import { enrolDevice, health, type TestDevice } from './device-helper.js'
import { bearer, build, secretOf, type TestHub } from './helper.js'
import { makeBundle, newReleaseKey, trustKey, upload } from './ota-helper.js'

/**
 * Rollouts through the API on a test clock: the rollout timer is off and
 * the test moves time, then calls app.otaRollouts.tick() (device reports
 * evaluate at once by themselves).
 */
async function setup(options: { devices: number; group?: string; config?: unknown }) {
  const hub = await build({ config: options.config })
  const token = await hub.login(hub.admin)
  const dir = useTempDir()
  const key = newReleaseKey()
  await trustKey(hub, token, key)
  const devices: TestDevice[] = []
  for (let i = 0; i < options.devices; i++) devices.push(await enrolDevice(hub, token, { group: options.group ?? 'farm', name: `turbine-${i}` }))
  const created = await upload(hub, token, readFileSync((await makeBundle(dir, { key, version: '2.0.0' })).path))
  expect(created.statusCode, created.body).toBe(201)
  const release = created.json() as { id: string; bundleSha256: string; bundleBytes: number }
  return { hub, token, devices, release }
}

async function createRollout(hub: TestHub, token: string, body: Record<string, unknown>) {
  return hub.app.inject({ method: 'POST', url: '/v1/rollouts', headers: bearer(token), payload: body })
}

async function rolloutOf(hub: TestHub, token: string, id: string) {
  const response = await hub.app.inject({ method: 'GET', url: `/v1/rollouts/${id}`, headers: bearer(token) })
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as { state: string; currentWave: number; reason: string | null; devices: number; states: Record<string, number>; waves: { state: string; deviceCount: number; states: Record<string, number>; outcomes: Record<string, number> }[] }
}

async function waveMembers(hub: TestHub, token: string, id: string, wave: number): Promise<string[]> {
  const response = await hub.app.inject({ method: 'GET', url: `/v1/rollouts/${id}/devices?wave=${wave}`, headers: bearer(token) })
  return (response.json() as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId)
}

const target = async (device: TestDevice) => {
  const response = await device.send('GET', '/v1/devices/me/ota')
  expect(response.statusCode, response.body).toBe(200)
  return response.json() as { release: null | { releaseId: string; rolloutId: string; bundleSha256: string; downloadPath: string; allowDowngrade: boolean } }
}

const report = (hub: TestHub, device: TestDevice, rolloutId: string, releaseId: string, state: string, extra: Record<string, unknown> = {}) =>
  device.send('POST', '/v1/devices/me/ota/report', { rolloutId, releaseId, state, runningVersion: state === 'committed' ? '2.0.0' : '1.0.0', at: hub.clock(), ...extra })

async function auditActions(hub: TestHub, token: string): Promise<{ action: string; target: string; details: Record<string, unknown> }[]> {
  const response = await hub.app.inject({ method: 'GET', url: '/v1/audit?limit=1000', headers: bearer(token) })
  return (response.json() as { entries: { action: string; target: string; details: Record<string, unknown> }[] }).entries
}

describe('hub rollouts: waves, halt rule, device endpoints', () => {
  it('halts when the canary fails: later waves never start and their devices get release null', async () => {
    const { hub, token: firstToken, devices, release } = await setup({ devices: 10 })
    let token = firstToken
    const created = await createRollout(hub, token, {
      releaseId: release.id,
      target: { group: 'farm' },
      waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
    })
    expect(created.statusCode, created.body).toBe(201)
    const rollout = created.json() as { id: string; waves: { deviceCount: number; state: string }[] }
    expect(rollout.waves.map((w) => w.deviceCount)).toEqual([1, 4, 5])
    expect(rollout.waves.map((w) => w.state)).toEqual(['running', 'waiting', 'waiting'])
    const [canaryId] = await waveMembers(hub, token, rollout.id, 0)
    const canary = devices.find((d) => d.deviceId === canaryId) as TestDevice
    const others = devices.filter((d) => d !== canary)

    const offered = await target(canary)
    expect(offered.release).toMatchObject({ releaseId: release.id, rolloutId: rollout.id, bundleSha256: release.bundleSha256, downloadPath: `/v1/releases/${release.id}/bundle`, allowDowngrade: false })
    for (const device of others) expect((await target(device)).release).toBeNull()
    // A later-wave device cannot report yet.
    const early = await report(hub, others[0] as TestDevice, rollout.id, release.id, 'downloading')
    expect(early.statusCode).toBe(409)
    expect(early.json()).toMatchObject({ code: 'ROLLOUT_ERR_WAVE_NOT_STARTED' })

    for (const state of ['downloading', 'verifying', 'installing', 'trial']) expect((await report(hub, canary, rollout.id, release.id, state)).statusCode).toBe(200)
    const rolledBack = await report(hub, canary, rollout.id, release.id, 'rolled-back', { code: 'OTA_ERR_HEALTH_CHECK_FAILED', reason: 'ingest stopped after the switch' })
    expect(rolledBack.json()).toEqual({ state: 'rolled-back', changed: true })

    const halted = await rolloutOf(hub, token, rollout.id)
    expect(halted.state).toBe('halted')
    expect(halted.reason).toMatch(/wave 1: 1 of 1 devices failed/)
    expect(halted.waves.map((w) => w.state)).toEqual(['failed', 'waiting', 'waiting'])
    expect(halted.states['rolled-back']).toBe(1)
    expect(halted.states.pending).toBe(9)

    // Time passes, the scheduler runs: nothing moves on.
    hub.clock.advance(3_600_000)
    await hub.app.otaRollouts.tick()
    token = await hub.login(hub.admin)
    expect((await rolloutOf(hub, token, rollout.id)).state).toBe('halted')
    for (const device of devices) expect((await target(device)).release).toBeNull()

    const audit = await auditActions(hub, token)
    const ofRollout = audit.filter((e) => e.target === rollout.id).map((e) => e.action)
    expect(ofRollout).toEqual(['rollout.create', 'rollout.wave_started', 'rollout.device_outcome', 'rollout.halted'])
    expect(audit.find((e) => e.action === 'rollout.device_outcome')?.details).toMatchObject({ state: 'rolled-back', code: 'OTA_ERR_HEALTH_CHECK_FAILED' })
  })

  it('proceeds wave by wave: a wave passes once its devices committed and kept sending heartbeats for healthyAfterSeconds', async () => {
    const { hub, token, devices, release } = await setup({ devices: 4 })
    const created = await createRollout(hub, token, { releaseId: release.id, target: { group: 'farm' }, waves: [{ percent: 25, healthyAfterSeconds: 60 }, { percent: 100, healthyAfterSeconds: 60 }], allowDowngrade: true })
    const rollout = created.json() as { id: string }
    const [canaryId] = await waveMembers(hub, token, rollout.id, 0)
    const canary = devices.find((d) => d.deviceId === canaryId) as TestDevice
    const rest = devices.filter((d) => d !== canary)
    expect((await target(canary)).release?.allowDowngrade).toBe(true)

    expect((await report(hub, canary, rollout.id, release.id, 'committed')).json()).toEqual({ state: 'committed', changed: true })
    // Idempotent: the same report again changes nothing; a step back is refused with a code.
    expect((await report(hub, canary, rollout.id, release.id, 'committed')).json()).toEqual({ state: 'committed', changed: false })
    const back = await report(hub, canary, rollout.id, release.id, 'downloading')
    expect(back.statusCode).toBe(409)
    expect(back.json()).toMatchObject({ code: 'ROLLOUT_ERR_INVALID_TRANSITION', details: { current: 'committed', requested: 'downloading' } })
    expect((await target(canary)).release).toBeNull()

    // Inside the healthy window: still proving.
    hub.clock.advance(30_000)
    expect((await canary.send('POST', '/v1/devices/me/heartbeat', health())).statusCode).toBe(200)
    await hub.app.otaRollouts.tick()
    let status = await rolloutOf(hub, token, rollout.id)
    expect(status.currentWave).toBe(0)
    expect(status.waves[0]?.outcomes.proving).toBe(1)
    for (const device of rest) expect((await target(device)).release).toBeNull()

    hub.clock.advance(31_000)
    await hub.app.otaRollouts.tick()
    status = await rolloutOf(hub, token, rollout.id)
    expect(status.waves.map((w) => w.state)).toEqual(['passed', 'running'])
    expect(status.currentWave).toBe(1)
    for (const device of rest) expect((await target(device)).release?.releaseId).toBe(release.id)

    for (const device of rest) expect((await report(hub, device, rollout.id, release.id, 'committed')).statusCode).toBe(200)
    hub.clock.advance(10_000)
    for (const device of rest) await device.send('POST', '/v1/devices/me/heartbeat', health())
    hub.clock.advance(55_000)
    await hub.app.otaRollouts.tick()
    status = await rolloutOf(hub, token, rollout.id)
    expect(status.state).toBe('completed')
    expect(status.states.committed).toBe(4)
    expect(status.waves.map((w) => w.outcomes.healthy)).toEqual([1, 3])

    const actions = (await auditActions(hub, token)).filter((e) => e.target === rollout.id).map((e) => e.action)
    expect(actions.filter((a) => a.startsWith('rollout.wave') || a === 'rollout.completed')).toEqual(['rollout.wave_started', 'rollout.wave_passed', 'rollout.wave_started', 'rollout.wave_passed', 'rollout.completed'])
  })

  it('counts a committed device that stops sending heartbeats as a failure, and a device that never finishes as timed out', async () => {
    const { hub, token, devices, release } = await setup({ devices: 2, config: { fleet: { heartbeatIntervalSeconds: 10, offlineAfterMissedHeartbeats: 3 } } })
    const silent = await createRollout(hub, token, { releaseId: release.id, target: {}, waves: [{ percent: 50, healthyAfterSeconds: 60, maxFailureRate: 0 }, { percent: 100 }] })
    const rollout = silent.json() as { id: string }
    const [canaryId] = await waveMembers(hub, token, rollout.id, 0)
    const canary = devices.find((d) => d.deviceId === canaryId) as TestDevice
    await report(hub, canary, rollout.id, release.id, 'committed')
    // No heartbeat after the commit: at the end of the window plus the grace (3 x 10 s) it is unhealthy.
    hub.clock.advance(60_000 + 29_000)
    await hub.app.otaRollouts.tick()
    expect((await rolloutOf(hub, token, rollout.id)).state).toBe('running')
    hub.clock.advance(2_000)
    await hub.app.otaRollouts.tick()
    const halted = await rolloutOf(hub, token, rollout.id)
    expect(halted.state).toBe('halted')
    expect(halted.waves[0]?.outcomes.unhealthy).toBe(1)

    const abort = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/abort`, headers: bearer(token), payload: { reason: 'bad build' } })
    expect(abort.json()).toMatchObject({ state: 'aborted', reason: 'bad build' })

    // Second rollout: the canary never reports; the wave times out.
    const second = await createRollout(hub, token, { releaseId: release.id, target: {}, waves: [{ percent: 50, timeoutSeconds: 120 }, { percent: 100 }] })
    expect(second.statusCode, second.body).toBe(201)
    const id = (second.json() as { id: string }).id
    hub.clock.advance(121_000)
    await hub.app.otaRollouts.tick()
    const timedOut = await rolloutOf(hub, token, id)
    expect(timedOut.state).toBe('halted')
    expect(timedOut.waves[0]?.outcomes['timed-out']).toBe(1)
  })

  it('pause, resume, abort: who gets the release at each step; invalid state changes refused with a code', async () => {
    const { hub, token, devices, release } = await setup({ devices: 3 })
    const rollout = (await createRollout(hub, token, { releaseId: release.id, target: { group: 'farm' }, waves: [{ percent: 100, healthyAfterSeconds: 0 }] })).json() as { id: string }
    const [busy, idle, third] = devices as [TestDevice, TestDevice, TestDevice]
    await report(hub, busy, rollout.id, release.id, 'downloading')

    const paused = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/pause`, headers: bearer(token) })
    expect(paused.json()).toMatchObject({ state: 'paused' })
    expect((await target(idle)).release).toBeNull()
    // A device already downloading may finish.
    expect((await target(busy)).release?.releaseId).toBe(release.id)
    const again = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/pause`, headers: bearer(token) })
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'ROLLOUT_ERR_INVALID_STATE', details: { state: 'paused' } })

    const resumed = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/resume`, headers: bearer(token) })
    expect(resumed.json()).toMatchObject({ state: 'running' })
    expect((await target(idle)).release?.releaseId).toBe(release.id)

    // healthyAfterSeconds 0: committing is enough.
    await report(hub, idle, rollout.id, release.id, 'committed')
    const aborted = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/abort`, headers: bearer(token) })
    expect(aborted.statusCode, aborted.body).toBe(200)
    expect(aborted.json()).toMatchObject({ state: 'aborted', reason: 'aborted by an admin' })
    expect((await target(third)).release).toBeNull()
    const resumeAborted = await hub.app.inject({ method: 'POST', url: `/v1/rollouts/${rollout.id}/resume`, headers: bearer(token) })
    expect(resumeAborted.json()).toMatchObject({ code: 'ROLLOUT_ERR_INVALID_STATE' })

    const actions = (await auditActions(hub, token)).filter((e) => e.target === rollout.id).map((e) => e.action)
    for (const action of ['rollout.paused', 'rollout.resumed', 'rollout.aborted']) expect(actions).toContain(action)
  })

  it('targets labelled devices (labels set by an admin, audited); refuses bad waves, empty targets and busy devices', async () => {
    const { hub, token, devices, release } = await setup({ devices: 4 })
    for (const device of devices.slice(0, 2)) {
      const set = await hub.app.inject({ method: 'PUT', url: `/v1/devices/${device.deviceId}/labels`, headers: bearer(token), payload: { labels: { ring: 'beta', site: 'north' } } })
      expect(set.statusCode, set.body).toBe(200)
      expect(set.json()).toMatchObject({ labels: { ring: 'beta', site: 'north' } })
    }
    const badLabel = await hub.app.inject({ method: 'PUT', url: `/v1/devices/${devices[0]?.deviceId}/labels`, headers: bearer(token), payload: { labels: { 'bad key!': 'x' } } })
    expect(badLabel.statusCode).toBe(400)

    const badWaves = await createRollout(hub, token, { releaseId: release.id, target: {}, waves: [{ percent: 50 }, { percent: 30 }, { percent: 100 }] })
    expect(badWaves.json()).toMatchObject({ code: 'ROLLOUT_ERR_INVALID_WAVES' })
    const notHundred = await createRollout(hub, token, { releaseId: release.id, target: {}, waves: [{ percent: 50 }] })
    expect(notHundred.json()).toMatchObject({ code: 'ROLLOUT_ERR_INVALID_WAVES' })
    const nobody = await createRollout(hub, token, { releaseId: release.id, target: { labels: { ring: 'gamma' } } })
    expect(nobody.statusCode).toBe(422)
    expect(nobody.json()).toMatchObject({ code: 'ROLLOUT_ERR_NO_DEVICES' })
    const unknownRelease = await createRollout(hub, token, { releaseId: 'rel-00000000-0000-4000-8000-000000000000', target: {} })
    expect(unknownRelease.statusCode).toBe(404)

    const beta = await createRollout(hub, token, { releaseId: release.id, target: { labels: { ring: 'beta', site: 'north' } } })
    expect(beta.statusCode, beta.body).toBe(201)
    const betaId = (beta.json() as { id: string; devices: number }).id
    expect((beta.json() as { devices: number }).devices).toBe(2)
    expect((await target(devices[0] as TestDevice)).release?.rolloutId).toBe(betaId)
    expect((await target(devices[3] as TestDevice)).release).toBeNull()

    const overlap = await createRollout(hub, token, { releaseId: release.id, target: { group: 'farm' } })
    expect(overlap.statusCode).toBe(409)
    expect(overlap.json()).toMatchObject({ code: 'ROLLOUT_ERR_DEVICE_BUSY', details: { rollouts: [betaId] } })

    const audit = await auditActions(hub, token)
    expect(audit.filter((e) => e.action === 'device.labels_set')).toHaveLength(2)
  })

  it('device reports naming another rollout or release are refused; viewers read but cannot change rollouts or labels', async () => {
    const { hub, token, devices, release } = await setup({ devices: 2 })
    const rollout = (await createRollout(hub, token, { releaseId: release.id, target: {} })).json() as { id: string }
    const device = devices[0] as TestDevice
    const wrongRelease = await report(hub, device, rollout.id, 'rel-00000000-0000-4000-8000-000000000000', 'downloading')
    expect(wrongRelease.json()).toMatchObject({ code: 'ROLLOUT_ERR_NOT_TARGETED' })
    const wrongRollout = await report(hub, device, 'ro-00000000-0000-4000-8000-000000000000', release.id, 'downloading')
    expect(wrongRollout.json()).toMatchObject({ code: 'ROLLOUT_ERR_NOT_TARGETED' })
    const badState = await report(hub, device, rollout.id, release.id, 'exploded')
    expect(badState.statusCode).toBe(400)

    const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'vera', password: 'viewer password long', role: 'viewer' } })
    const viewer = await hub.login({ username: 'vera', password: 'viewer password long', totpSecret: secretOf((created.json() as { otpauthUri: string }).otpauthUri) })
    expect((await hub.app.inject({ method: 'GET', url: `/v1/rollouts/${rollout.id}`, headers: bearer(viewer) })).statusCode).toBe(200)
    expect((await hub.app.inject({ method: 'GET', url: `/v1/rollouts/${rollout.id}/devices`, headers: bearer(viewer) })).statusCode).toBe(200)
    for (const request of [
      { method: 'POST' as const, url: `/v1/rollouts/${rollout.id}/pause` },
      { method: 'POST' as const, url: `/v1/rollouts/${rollout.id}/abort` },
      { method: 'POST' as const, url: '/v1/rollouts', payload: { releaseId: release.id, target: {} } },
      { method: 'PUT' as const, url: `/v1/devices/${device.deviceId}/labels`, payload: { labels: {} } },
    ]) {
      const response = await hub.app.inject({ ...request, headers: bearer(viewer) })
      expect(response.statusCode, request.url).toBe(403)
    }
  })
})
