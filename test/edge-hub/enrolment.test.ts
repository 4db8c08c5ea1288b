import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEVICE_IDENTITY_FILE, DEVICE_KEY_FILE, HUB_CA_FILE, loadDeviceIdentity } from '../../edge/hub-link/device-identity.js'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import { collectHardwareFacts } from '../../edge/hub-link/hardware-facts.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { CloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { freePort } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (m: string) => lines.push(m)
  return { lines, info: log, warn: log, error: log }
}

async function refusal(promise: Promise<unknown>): Promise<CloudosError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(CloudosError)
  return err as CloudosError
}

// The real hub (cloud/app.ts) in this process on a free port; the edge side
// of enrolment as the runtime calls it.
describe('enrolment with a real hub', () => {
  let hub: RealHub
  let tmp: TempDir
  let n = 0
  const dataDir = () => join(tmp.path, `edge-${n++}`)
  beforeAll(async () => {
    hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    tmp = makeTempDir('cloudos-enrol-')
  })
  afterAll(async () => {
    await hub.dispose()
    tmp.remove()
  })

  it('collects hardware facts from this machine', () => {
    const facts = collectHardwareFacts(tmp.path)
    expect(facts.cpuCount).toBeGreaterThan(0)
    expect(facts.memoryBytes).toBeGreaterThan(0)
    expect(facts.freeDiskBytes).toBeGreaterThan(0)
    expect(facts).toMatchObject({ arch: process.arch, runtimeVersion: process.version, os: expect.stringMatching(/^linux /) })
  })

  it('enrols with a token (new key pair, facts), stores the identity with the key at 0600, then signs requests the hub accepts', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken({ group: 'plant-7', tier: 'edge' })
    const log = recordingLogger()
    const identity = await ensureEnrolled({ dataDir: dir, hubUrl: hub.url, enrolmentToken: token, deviceName: 'press-line-2', timeoutMs: 5000, log })
    expect(identity).toMatchObject({ deviceId: expect.stringMatching(/^dev-/), hubUrl: hub.url, group: 'plant-7', tier: 'edge', hubId: expect.stringMatching(/^hub-/) })
    expect(statSync(join(dir, DEVICE_KEY_FILE)).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, DEVICE_IDENTITY_FILE)).mode & 0o077).toBe(0)
    // The hub CA, found by the pin the token carries, is pinned with the identity (0600).
    expect(identity.hubCaPin).toBe(hub.caPin)
    expect(identity.hubCaPem).toBe(hub.caPem)
    expect(statSync(join(dir, HUB_CA_FILE)).mode & 0o777).toBe(0o600)
    expect(log.lines.join('\n')).toContain(`enrolled with hub ${identity.hubId}`)

    const device = await hub.get<{ name: string; group: string; facts: { cpuCount: number; runtimeVersion: string }; publicKey: string }>(`/v1/devices/${identity.deviceId}`)
    expect(device.body).toMatchObject({ name: 'press-line-2', group: 'plant-7', publicKey: identity.publicKey, facts: { runtimeVersion: process.version } })

    const reloaded = loadDeviceIdentity(dir)
    const client = new HubClient({ url: hub.url, hubCaPem: reloaded.hubCaPem, timeoutMs: 5000, credentials: { deviceId: reloaded.deviceId, privateKey: reloaded.privateKey } })
    const me = await client.get('/v1/devices/me')
    expect(me).toMatchObject({ status: 200, body: { id: identity.deviceId } })
  })

  it('reuses the stored identity on later starts: no token needed, no hub needed, a token passed again is ignored with a log line', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken()
    const first = await ensureEnrolled({ dataDir: dir, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: recordingLogger() })
    // Nothing answers at this address: the identity is local, and an address that cannot
    // prove the pinned hub identity is not followed (issue 13): the pinned hub is kept.
    const elsewhere = `https://127.0.0.1:${await freePort()}`
    const log = recordingLogger()
    const again = await ensureEnrolled({ dataDir: dir, hubUrl: elsewhere, enrolmentToken: token, timeoutMs: 500, log })
    expect(again.deviceId).toBe(first.deviceId)
    expect(again.hubUrl).toBe(hub.url)
    expect(loadDeviceIdentity(dir).hubUrl).toBe(hub.url)
    expect(log.lines.join('\n')).toMatch(/already enrolled as dev-.*token given is not needed and was ignored/)
    expect(log.lines.join('\n')).toMatch(/could not be checked .*keeping the pinned hub at https:\/\/127\.0\.0\.1/)
    const quiet = await ensureEnrolled({ dataDir: dir, hubUrl: hub.url, timeoutMs: 500, log: recordingLogger() })
    expect(quiet.deviceId).toBe(first.deviceId)
  })

  it('refuses a used and an unknown token, showing the hub code and message, and stores nothing', async () => {
    const { token, id } = await hub.createEnrolmentToken()
    await ensureEnrolled({ dataDir: dataDir(), hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: recordingLogger() })
    const dir = dataDir()
    const used = await refusal(ensureEnrolled({ dataDir: dir, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: recordingLogger() }))
    expect(used.code).toBe('EDGE_ERR_HUB_ENROLMENT_REFUSED')
    expect(used.message).toContain('HUB_ERR_ENROLMENT_TOKEN_USED')
    expect(used.message).toContain(`enrolment token ${id} was already used`)
    expect(() => loadDeviceIdentity(dir)).toThrow(/EDGE_ERR_HUB_IDENTITY_UNREADABLE|device-identity.json/)

    const unknown = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: hub.url, enrolmentToken: `${'A'.repeat(43)}.${hub.caPin.slice('sha256:'.length)}`, timeoutMs: 5000, log: recordingLogger() }))
    expect(unknown.code).toBe('EDGE_ERR_HUB_ENROLMENT_REFUSED')
    expect(unknown.message).toContain('HUB_ERR_ENROLMENT_TOKEN_INVALID')
  })

  it('reports an unreachable hub and a missing token clearly', async () => {
    const url = `https://127.0.0.1:${await freePort()}`
    const { token } = await hub.createEnrolmentToken()
    const down = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: url, enrolmentToken: token, timeoutMs: 1000, log: recordingLogger() }))
    expect(down.code).toBe('EDGE_ERR_HUB_UNREACHABLE')
    expect(down.message).toContain(`the hub at ${url} is unreachable`)
    const noToken = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: hub.url, timeoutMs: 1000, log: recordingLogger() }))
    expect(noToken.code).toBe('EDGE_ERR_HUB_NOT_ENROLLED')
    expect(noToken.message).toContain('--enroll-token')
  })
})

describe('enrolment below the hub minimums', () => {
  it('shows the hub message naming each unmet requirement; the token stays usable', async () => {
    const hub = await startRealHub({ config: { enrolment: { minimums: { cpuCount: 4096, memoryBytes: 2 ** 50, freeDiskBytes: 0, runtimeVersion: '99.0.0' } } } })
    const tmp = makeTempDir('cloudos-enrol-min-')
    try {
      const { token } = await hub.createEnrolmentToken()
      const err = await refusal(ensureEnrolled({ dataDir: tmp.path, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: recordingLogger() }))
      expect(err.code).toBe('EDGE_ERR_HUB_REQUIREMENTS_UNMET')
      expect(err.message).toContain('HUB_ERR_DEVICE_REQUIREMENTS_UNMET')
      expect(err.message).toContain('needs at least 4096 CPU cores')
      expect(err.message).toMatch(/needs at least \d+ MiB of memory/)
      expect(err.message).toContain('needs Node.js 99.0.0 or later')
      expect(err.message).not.toContain('free disk')
      expect((err.details?.unmet as unknown[]).length).toBe(3)
      const tokens = await hub.get<{ tokens: { status: string }[] }>('/v1/enrolment-tokens')
      expect(tokens.body.tokens[0]?.status).toBe('unused')
    } finally {
      await hub.dispose()
      tmp.remove()
    }
  })
})
