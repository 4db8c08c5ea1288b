import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuditLog } from '../../cloud/audit/audit-log.js'
import type { AuthFailure } from '../../cloud/audit/auth-failure-summary.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { EnrolmentService } from '../../cloud/devices/enrolment-service.js'
import { resolveHubConfig } from '../../cloud/hub-config.js'
import { hashBearerToken } from '../../cloud/http/bearer-token.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'

const facts = { cpuCount: 4, memoryBytes: 4 * 1024 ** 3, freeDiskBytes: 8 * 1024 ** 3, arch: 'arm64', os: 'linux', runtimeVersion: 'v20.11.0' }

// The service the enrolment routes and `cloudos demo` share: proven here without HTTP.
describe('EnrolmentService', () => {
  let dir: string
  let store: SqliteHubStore
  let service: EnrolmentService
  let failures: AuthFailure[]
  let now = 1_000_000

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cloudos-enrolment-'))
    await initHub({ dataDir: dir, adminPassword: 'correct horse battery staple' })
    store = SqliteHubStore.open(dir)
    const clock = () => now
    failures = []
    service = new EnrolmentService({ tokens: store.enrolmentTokens, devices: store.devices, audit: new AuditLog(store.audit, HubIdentity.load(dir), clock), failures: { record: (f) => failures.push(f) }, enrolment: resolveHubConfig().enrolment, clock })
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('issues a token stored by its hash only, with its audit entry, and enrols a device with it once', async () => {
    const { record, token } = await service.issueToken({ group: 'demo', tier: 'edge', ttlSeconds: 3600, actor: 'demo' })
    expect(record).toMatchObject({ group: 'demo', tier: 'edge', createdBy: 'demo', createdAt: now, expiresAt: now + 3_600_000, usedAt: null })
    expect(await store.enrolmentTokens.findByHash(hashBearerToken(token))).toEqual(record)
    expect((await store.audit.all()).at(-1)).toMatchObject({ action: 'enrolment_token.create', actor: 'demo', target: record.id, details: { group: 'demo', tier: 'edge', expiresAt: new Date(now + 3_600_000).toISOString() } })

    const publicKey = encodePublicKey(generateDeviceKeyPair().publicKey)
    now += 1000
    const device = await service.enrol({ enrolmentToken: token, publicKey, facts, ip: '10.0.0.7' })
    expect(device).toMatchObject({ group: 'demo', tier: 'edge', name: 'demo-arm64', enrolmentTokenId: record.id, enrolledAt: now, status: 'active' })
    expect(await store.devices.findById(device.id)).toMatchObject({ id: device.id, publicKey })
    expect((await store.audit.all()).at(-1)).toMatchObject({ action: 'device.enrol', actor: `device:${device.id}`, target: device.id })

    await expect(service.enrol({ enrolmentToken: token, publicKey, facts, ip: '10.0.0.7' })).rejects.toMatchObject({ code: 'HUB_ERR_ENROLMENT_TOKEN_USED' })
    // A refused token is counted (summarised per source and window by the app), not written as an audit row of its own.
    expect(failures).toEqual([{ kind: 'enrolment', source: '10.0.0.7', code: 'HUB_ERR_ENROLMENT_TOKEN_USED', claimedId: record.id }])
    expect((await store.audit.all()).at(-1)).toMatchObject({ action: 'device.enrol' })
  })

  it('uses the configured default lifetime, and refuses (audited) an unknown or expired token and a device below the minimums', async () => {
    const { record, token } = await service.issueToken({ group: 'g', tier: 'lite', actor: 'user:admin' })
    expect(record.expiresAt - record.createdAt).toBe(resolveHubConfig().enrolment.tokenTtlSeconds * 1000)
    const publicKey = encodePublicKey(generateDeviceKeyPair().publicKey)
    await expect(service.enrol({ enrolmentToken: 'not-a-token', publicKey, facts, ip: 'x' })).rejects.toMatchObject({ code: 'HUB_ERR_ENROLMENT_TOKEN_INVALID' })
    await expect(service.enrol({ enrolmentToken: token, publicKey, facts: { ...facts, cpuCount: 0 }, ip: 'x' })).rejects.toMatchObject({ code: 'HUB_ERR_DEVICE_REQUIREMENTS_UNMET' })
    expect((await store.audit.all()).at(-1)).toMatchObject({ action: 'device.enrol_refused', details: { unmet: ['cpuCount'] } })
    // Refused for the minimums: the token is not consumed.
    expect((await store.enrolmentTokens.findByHash(hashBearerToken(token)))?.usedAt).toBeNull()
    now = record.expiresAt
    await expect(service.enrol({ enrolmentToken: token, publicKey, facts, ip: 'x' })).rejects.toMatchObject({ code: 'HUB_ERR_ENROLMENT_TOKEN_EXPIRED' })
    expect(failures.map((f) => f.code)).toEqual(['HUB_ERR_ENROLMENT_TOKEN_INVALID', 'HUB_ERR_ENROLMENT_TOKEN_EXPIRED'])
  })
})
