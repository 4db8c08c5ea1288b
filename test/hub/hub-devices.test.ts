import type { KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { encodePublicKey, generateDeviceKeyPair, signDeviceRequest } from '../../shared/device-auth/index.js'
import { bearer, build, type TestHub } from './helper.js'

const GiB = 1024 ** 3

const goodFacts = { cpuCount: 4, memoryBytes: 4 * GiB, freeDiskBytes: 32 * GiB, arch: 'arm64', os: 'linux 6.1.0-rpi', runtimeVersion: 'v20.20.2' }

async function createToken(hub: TestHub, token: string, body: Record<string, unknown> = { group: 'wind-farm-1', tier: 'edge' }) {
  const response = await hub.app.inject({ method: 'POST', url: '/v1/enrolment-tokens', headers: bearer(token), payload: body })
  expect(response.statusCode, response.body).toBe(201)
  return response.json() as { id: string; token: string; group: string; tier: string; status: string; expiresAt: string }
}

function newDevice() {
  const { publicKey, privateKey } = generateDeviceKeyPair()
  return { privateKey, publicKey: encodePublicKey(publicKey) }
}

async function enrol(hub: TestHub, enrolmentToken: string, publicKey: string, facts: Record<string, unknown> = goodFacts) {
  return hub.app.inject({ method: 'POST', url: '/v1/devices/enroll', payload: { enrolmentToken, publicKey, facts, name: 'turbine-7' } })
}

async function signedGet(hub: TestHub, deviceId: string, privateKey: KeyObject, options: { timestamp?: number; nonce?: string; path?: string } = {}) {
  const path = options.path ?? '/v1/devices/me'
  const headers = signDeviceRequest(privateKey, { deviceId, method: 'GET', path, body: '', timestamp: options.timestamp ?? hub.clock(), ...(options.nonce ? { nonce: options.nonce } : {}) })
  return { headers, response: await hub.app.inject({ method: 'GET', url: path, headers }) }
}

/** A hub with an admin token and one enrolled device. */
async function withDevice() {
  const hub = await build()
  const admin = await hub.login(hub.admin)
  const token = await createToken(hub, admin)
  const device = newDevice()
  const enrolled = await enrol(hub, token.token, device.publicKey)
  expect(enrolled.statusCode, enrolled.body).toBe(201)
  const { deviceId } = enrolled.json() as { deviceId: string }
  return { hub, admin, device, deviceId, tokenId: token.id }
}

describe('enrolment tokens', () => {
  it('are created by admins (single use, expiry, group, tier), listed without their value, refused to viewers', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const created = await createToken(hub, admin, { group: 'retail-eu', tier: 'lite', ttlSeconds: 3600 })
    expect(created).toMatchObject({ group: 'retail-eu', tier: 'lite', status: 'unused', token: expect.stringMatching(/^[A-Za-z0-9_-]{43}\.[0-9a-f]{64}$/), caPin: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) })
    // The token carries the hub CA pin (shared/protocol/enrolment-token.ts).
    expect(created.token.split('.')[1]).toBe((created as unknown as { caPin: string }).caPin.slice('sha256:'.length))
    expect(Date.parse(created.expiresAt) - hub.clock()).toBe(3_600_000)
    const list = await hub.app.inject({ url: '/v1/enrolment-tokens', headers: bearer(admin) })
    expect(list.json()).toMatchObject({ tokens: [{ id: created.id, status: 'unused' }] })
    expect(list.body).not.toContain(created.token)

    const bad = await hub.app.inject({ method: 'POST', url: '/v1/enrolment-tokens', headers: bearer(admin), payload: { group: 'x', tier: 'cloud' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('HUB_ERR_INVALID_REQUEST')

    const viewer = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: { username: 'vera', password: 'viewer password 1' } })
    const secret = new URL((viewer.json() as { otpauthUri: string }).otpauthUri).searchParams.get('secret') as string
    const viewerToken = await hub.login({ username: 'vera', password: 'viewer password 1', totpSecret: secret })
    const refused = await hub.app.inject({ method: 'POST', url: '/v1/enrolment-tokens', headers: bearer(viewerToken), payload: { group: 'g', tier: 'edge' } })
    expect(refused.statusCode).toBe(403)
    expect((await hub.app.inject({ method: 'POST', url: '/v1/enrolment-tokens', payload: { group: 'g', tier: 'edge' } })).statusCode).toBe(401)
  })
})

describe('device enrolment', () => {
  it('enrols a device: id returned, token consumed, device listed with its facts, audited', async () => {
    const { hub, admin, deviceId, tokenId, device } = await withDevice()
    expect(deviceId).toMatch(/^dev-[0-9a-f-]{36}$/)
    const list = (await hub.app.inject({ url: '/v1/devices?group=wind-farm-1', headers: bearer(admin) })).json() as { count: number; devices: Record<string, unknown>[] }
    expect(list.count).toBe(1)
    expect(list.devices[0]).toMatchObject({ id: deviceId, name: 'turbine-7', group: 'wind-farm-1', tier: 'edge', status: 'active', facts: goodFacts, publicKey: device.publicKey })
    expect(((await hub.app.inject({ url: '/v1/devices?group=other', headers: bearer(admin) })).json() as { count: number }).count).toBe(0)
    const one = await hub.app.inject({ url: `/v1/devices/${deviceId}`, headers: bearer(admin) })
    expect(one.json()).toMatchObject({ id: deviceId })
    const tokens = (await hub.app.inject({ url: '/v1/enrolment-tokens', headers: bearer(admin) })).json() as { tokens: { id: string; status: string; deviceId: string }[] }
    expect(tokens.tokens.find((t) => t.id === tokenId)).toMatchObject({ status: 'used', deviceId })
    const audit = (await hub.app.inject({ url: '/v1/audit', headers: bearer(admin) })).json() as { entries: { action: string; target: string }[] }
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['enrolment_token.create', 'device.enrol']))
  })

  it('refuses a reused token, an unknown token and an expired token with clear codes', async () => {
    const { hub, admin } = await withDevice()
    const first = await createToken(hub, admin)
    expect((await enrol(hub, first.token, newDevice().publicKey)).statusCode).toBe(201)
    const reused = await enrol(hub, first.token, newDevice().publicKey)
    expect(reused.statusCode).toBe(409)
    expect(reused.json().code).toBe('HUB_ERR_ENROLMENT_TOKEN_USED')

    const unknown = await enrol(hub, 'A'.repeat(43), newDevice().publicKey)
    expect(unknown.statusCode).toBe(401)
    expect(unknown.json().code).toBe('HUB_ERR_ENROLMENT_TOKEN_INVALID')

    const shortLived = await createToken(hub, admin, { group: 'g', tier: 'lite', ttlSeconds: 60 })
    hub.clock.advance(60_000)
    const expired = await enrol(hub, shortLived.token, newDevice().publicKey)
    expect(expired.statusCode).toBe(401)
    expect(expired.json().code).toBe('HUB_ERR_ENROLMENT_TOKEN_EXPIRED')
  })

  it('refuses a device below the minimums, naming each unmet requirement, without consuming the token', async () => {
    const hub = await build({ config: { enrolment: { minimums: { cpuCount: 2, memoryBytes: GiB, freeDiskBytes: 2 * GiB, runtimeVersion: '20.6.0' } } } })
    const admin = await hub.login(hub.admin)
    const token = await createToken(hub, admin)
    const weak = await enrol(hub, token.token, newDevice().publicKey, { ...goodFacts, cpuCount: 1, memoryBytes: 512 * 1024 ** 2, freeDiskBytes: GiB, runtimeVersion: 'v18.19.0' })
    expect(weak.statusCode).toBe(422)
    const body = weak.json() as { code: string; message: string; details: { unmet: { requirement: string }[] } }
    expect(body.code).toBe('HUB_ERR_DEVICE_REQUIREMENTS_UNMET')
    expect(body.message).toContain('needs at least 2 CPU cores, has 1')
    expect(body.message).toContain('needs at least 1024 MiB of memory, has 512 MiB')
    expect(body.message).toContain('needs at least 2048 MiB of free disk, has 1024 MiB')
    expect(body.message).toContain('needs Node.js 20.6.0 or later, has v18.19.0')
    expect(body.details.unmet.map((u) => u.requirement)).toEqual(['cpuCount', 'memoryBytes', 'freeDiskBytes', 'runtimeVersion'])
    // Only the memory short: only memory named.
    const one = await enrol(hub, token.token, newDevice().publicKey, { ...goodFacts, memoryBytes: 512 * 1024 ** 2 })
    expect((one.json() as { details: { unmet: unknown[] } }).details.unmet).toHaveLength(1)
    expect((await enrol(hub, token.token, newDevice().publicKey)).statusCode).toBe(201)
  })

  it('refuses a malformed public key and missing facts', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const token = await createToken(hub, admin)
    const badKey = await enrol(hub, token.token, Buffer.alloc(16).toString('base64'))
    expect(badKey.statusCode).toBe(400)
    expect(badKey.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('32 bytes') })
    const { arch: _arch, ...noArch } = goodFacts
    const missing = await enrol(hub, token.token, newDevice().publicKey, noArch)
    expect(missing.statusCode).toBe(400)
    expect(missing.json().message).toContain('arch')
    expect((await enrol(hub, token.token, newDevice().publicKey)).statusCode).toBe(201)
  })
})

describe('signed device requests', () => {
  it('accept a correctly signed request and update last seen', async () => {
    const { hub, deviceId, device } = await withDevice()
    hub.clock.advance(5_000)
    const { response } = await signedGet(hub, deviceId, device.privateKey)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toMatchObject({ id: deviceId, lastSeenAt: new Date(hub.clock()).toISOString() })
  })

  it('refuse unsigned, unknown-device, wrong-key, stale, replayed and revoked requests', async () => {
    const { hub, admin, deviceId, device } = await withDevice()
    const unsigned = await hub.app.inject('/v1/devices/me')
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')

    const unknown = (await signedGet(hub, 'dev-00000000-0000-0000-0000-000000000000', device.privateKey)).response
    expect(unknown.statusCode).toBe(401)
    expect(unknown.json().code).toBe('HUB_ERR_DEVICE_UNKNOWN')

    const wrongKey = (await signedGet(hub, deviceId, generateDeviceKeyPair().privateKey)).response
    expect(wrongKey.statusCode).toBe(401)
    expect(wrongKey.json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')

    const stale = (await signedGet(hub, deviceId, device.privateKey, { timestamp: hub.clock() - 301_000 })).response
    expect(stale.statusCode).toBe(401)
    expect(stale.json().code).toBe('HUB_ERR_DEVICE_SIGNATURE_STALE')

    const { headers, response: first } = await signedGet(hub, deviceId, device.privateKey)
    expect(first.statusCode).toBe(200)
    const replay = await hub.app.inject({ method: 'GET', url: '/v1/devices/me', headers })
    expect(replay.statusCode).toBe(401)
    expect(replay.json().code).toBe('HUB_ERR_DEVICE_SIGNATURE_REPLAYED')

    // Signed for another path: refused (the path is covered by the signature).
    const moved = signDeviceRequest(device.privateKey, { deviceId, method: 'GET', path: '/v1/devices/me?x=1', body: '', timestamp: hub.clock() })
    expect((await hub.app.inject({ method: 'GET', url: '/v1/devices/me', headers: moved })).statusCode).toBe(401)

    const revoke = await hub.app.inject({ method: 'POST', url: `/v1/devices/${deviceId}/revoke`, headers: bearer(admin) })
    expect(revoke.statusCode).toBe(200)
    expect(revoke.json()).toMatchObject({ status: 'revoked', revokedAt: new Date(hub.clock()).toISOString() })
    const revoked = (await signedGet(hub, deviceId, device.privateKey)).response
    expect(revoked.statusCode).toBe(403)
    expect(revoked.json().code).toBe('HUB_ERR_DEVICE_REVOKED')
    const listed = (await hub.app.inject({ url: '/v1/devices?status=revoked', headers: bearer(admin) })).json() as { devices: { id: string }[] }
    expect(listed.devices.map((d) => d.id)).toEqual([deviceId])

    // Every refusal is counted, then summarised in one audit entry for this source and window (not one row each).
    hub.clock.advance(60_000)
    await hub.app.authFailures.flushDue()
    const audit = (await hub.app.inject({ url: '/v1/audit?limit=1000', headers: bearer(admin) })).json() as { entries: { action: string; details: Record<string, unknown> }[] }
    const summaries = audit.entries.filter((e) => e.action === 'auth.failures' && e.details.kind === 'device')
    expect(summaries).toHaveLength(1)
    expect(summaries[0]?.details).toMatchObject({
      source: '127.0.0.1',
      count: 7,
      codes: {
        HUB_ERR_DEVICE_UNAUTHENTICATED: 3,
        HUB_ERR_DEVICE_UNKNOWN: 1,
        HUB_ERR_DEVICE_SIGNATURE_STALE: 1,
        HUB_ERR_DEVICE_SIGNATURE_REPLAYED: 1,
        HUB_ERR_DEVICE_REVOKED: 1,
      },
    })
    expect(audit.entries.some((e) => e.action === 'device.revoke')).toBe(true)
    expect((await hub.app.inject({ url: '/v1/audit/verify', headers: bearer(admin) })).json()).toMatchObject({ ok: true })
  })

  it('revoking needs an admin and an existing device', async () => {
    const { hub, admin } = await withDevice()
    const missing = await hub.app.inject({ method: 'POST', url: '/v1/devices/dev-00000000-0000-0000-0000-000000000000/revoke', headers: bearer(admin) })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().code).toBe('HUB_ERR_NOT_FOUND')
    expect((await hub.app.inject({ method: 'POST', url: '/v1/devices/dev-00000000-0000-0000-0000-000000000000/revoke' })).statusCode).toBe(401)
  })
})

