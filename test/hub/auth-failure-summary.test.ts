import { describe, expect, it } from 'vitest'
import { AuditLog } from '../../cloud/audit/audit-log.js'
import { AuthFailureSummary, MAX_ID_CHARS, OTHER_SOURCES, type AuthFailureSummaryDetails } from '../../cloud/audit/auth-failure-summary.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { bearer, build, type TestHub } from './helper.js'
import { enrolDevice, goodFacts } from './device-helper.js'
import { encodePublicKey, generateDeviceKeyPair, newNonce } from '../../shared/device-auth/index.js'

interface Entry {
  seq: number
  action: string
  target: string
  details: AuthFailureSummaryDetails
}

async function auditEntries(hub: TestHub, token: string): Promise<Entry[]> {
  const entries: Entry[] = []
  for (;;) {
    const page = (await hub.app.inject({ url: `/v1/audit?afterSeq=${entries.at(-1)?.seq ?? 0}&limit=1000`, headers: bearer(token) })).json() as { entries: Entry[] }
    entries.push(...page.entries)
    if (page.entries.length < 1000) return entries
  }
}

/** A device request with well-formed signature headers claiming `deviceId` (never enrolled). */
function claimedDeviceHeaders(hub: TestHub, deviceId: string, extra: Record<string, string> = {}) {
  return { 'x-cloudos-device': deviceId, 'x-cloudos-timestamp': String(hub.clock()), 'x-cloudos-nonce': newNonce(), 'x-cloudos-signature': `${'A'.repeat(86)}==`, ...extra }
}

// Limits high enough that the flood reaches authentication: this is about the audit log, rate limits are tested on their own.
const OPEN_LIMITS = { rateLimits: { perSource: 1_000_000, enrolmentPerSource: 1_000_000 } }

describe('failed authentications in the audit log', () => {
  it('an audit flood (2,000 bad requests with 5 KB ids) grows the audit by windows, not requests', async () => {
    const hub = await build({ config: OPEN_LIMITS })
    const token = await hub.login(hub.admin)
    const before = (await auditEntries(hub, token)).length
    const windows = new Set<string>()
    const hugeId = (i: number) => `dev-${String(i).padStart(8, '0')}-${'x'.repeat(5 * 1024)}`
    for (let i = 0; i < 2000; i++) {
      hub.clock.advance(100)
      const windowStart = Math.floor(hub.clock() / 60_000)
      if (i % 2 === 0) {
        const response = await hub.app.inject({ method: 'POST', url: '/v1/devices/me/heartbeat', headers: { ...claimedDeviceHeaders(hub, hugeId(i)), 'content-type': 'application/json' }, payload: '{}' })
        expect(response.statusCode).toBe(401)
        expect(response.json().code).toBe('HUB_ERR_DEVICE_UNKNOWN')
        windows.add(`device ${windowStart}`)
      } else {
        const response = await hub.app.inject({
          method: 'POST',
          url: '/v1/devices/enroll',
          payload: { enrolmentToken: `guess-${i}-${'y'.repeat(150)}`, publicKey: encodePublicKey(generateDeviceKeyPair().publicKey), facts: goodFacts },
        })
        expect(response.statusCode).toBe(401)
        expect(response.json().code).toBe('HUB_ERR_ENROLMENT_TOKEN_INVALID')
        windows.add(`enrolment ${windowStart}`)
      }
    }
    hub.clock.advance(60_000)
    await hub.app.authFailures.flushDue()
    const entries = await auditEntries(hub, token)
    const added = entries.slice(before)
    // One entry per (kind, source) per window: 200 s of flood from one source is 4-5 windows of each kind, not 2,000 rows.
    expect(added.length).toBe(windows.size)
    expect(added.length).toBeLessThanOrEqual(10)
    expect(added.every((e) => e.action === 'auth.failures' && e.target === '127.0.0.1')).toBe(true)
    expect(added.filter((e) => e.details.kind === 'device').reduce((n, e) => n + e.details.count, 0)).toBe(1000)
    expect(added.filter((e) => e.details.kind === 'enrolment').reduce((n, e) => n + e.details.count, 0)).toBe(1000)
    for (const entry of added) {
      expect(entry.details).toMatchObject({ source: '127.0.0.1', windowStart: expect.any(String), windowEnd: expect.any(String) })
      expect(Date.parse(entry.details.windowEnd) - Date.parse(entry.details.windowStart)).toBe(60_000)
      // Attacker-chosen ids are sampled and cut: an entry stays small whatever the ids.
      expect(entry.details.sampleIds.length).toBeLessThanOrEqual(5)
      for (const id of entry.details.sampleIds) expect(id.length).toBeLessThanOrEqual(MAX_ID_CHARS)
      expect(JSON.stringify(entry).length).toBeLessThan(2000)
    }
    expect(added.find((e) => e.details.kind === 'device')?.details.codes).toEqual({ HUB_ERR_DEVICE_UNKNOWN: expect.any(Number) })
    expect((await hub.app.inject({ url: '/v1/audit/verify', headers: bearer(token) })).json()).toMatchObject({ ok: true })
    const metrics = (await hub.app.inject('/metrics')).body
    expect(metrics).toContain('cloudos_hub_auth_failures_total{kind="device",code="HUB_ERR_DEVICE_UNKNOWN"} 1000')
    expect(metrics).toContain('cloudos_hub_auth_failures_total{kind="enrolment",code="HUB_ERR_ENROLMENT_TOKEN_INVALID"} 1000')
  })

  it('tracks a bounded number of sources per window; the rest are counted under (other)', async () => {
    const hub = await build({ config: { ...OPEN_LIMITS, http: { trustProxy: true }, authFailures: { maxSourcesPerWindow: 50 } } })
    const token = await hub.login(hub.admin)
    const before = (await auditEntries(hub, token)).length
    for (let i = 0; i < 2000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      const response = await hub.app.inject({ url: '/v1/devices/me', headers: claimedDeviceHeaders(hub, `dev-${i}`, { 'x-forwarded-for': address }) })
      expect(response.statusCode).toBe(401)
    }
    expect(hub.app.authFailures.trackedBuckets).toBe(51)
    hub.clock.advance(60_000)
    await hub.app.authFailures.flushDue()
    const added = (await auditEntries(hub, token)).slice(before)
    expect(added).toHaveLength(51)
    expect(added.filter((e) => e.details.source === OTHER_SOURCES).map((e) => e.details.count)).toEqual([1950])
    expect(added.reduce((n, e) => n + e.details.count, 0)).toBe(2000)
  })

  it('writes the open window when the hub stops', async () => {
    const hub = await build()
    const device = await enrolDevice(hub, await hub.login(hub.admin))
    const bad = await hub.app.inject({ url: '/v1/devices/me', headers: claimedDeviceHeaders(hub, device.deviceId) })
    expect(bad.json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')
    await hub.app.close()
    const store = SqliteHubStore.open(hub.dataDir)
    try {
      const last = (await store.audit.all()).at(-1)
      expect(last).toMatchObject({ action: 'auth.failures', target: '127.0.0.1', details: { kind: 'device', count: 1, sampleIds: [device.deviceId] } })
    } finally {
      await store.close()
    }
  })

  it('summarises in memory bounded by the source limit whatever the number of sources (unit)', async () => {
    const hub = await build()
    await hub.app.close()
    const store = SqliteHubStore.open(hub.dataDir)
    try {
      let now = 0
      const summary = new AuthFailureSummary({ audit: new AuditLog(store.audit, HubIdentity.load(hub.dataDir), () => now), clock: () => now, windowMs: 1000, maxSourcesPerWindow: 3 })
      for (let i = 0; i < 10_000; i++) summary.record({ kind: 'login', source: `s${i}`, code: 'bad_password', claimedId: 'z'.repeat(10_000) })
      expect(summary.trackedBuckets).toBe(4)
      expect(summary.pending).toBe(10_000)
      now = 999
      expect(await summary.flushDue()).toBe(0)
      now = 1000
      expect(await summary.flushDue()).toBe(4)
      expect(summary.trackedBuckets).toBe(0)
      const written = (await store.audit.all()).filter((e) => e.action === 'auth.failures')
      expect(written.map((e) => [e.target, (e.details as unknown as AuthFailureSummaryDetails).count])).toEqual([
        ['s0', 1],
        ['s1', 1],
        ['s2', 1],
        [OTHER_SOURCES, 9997],
      ])
      expect((written[0]?.details as unknown as AuthFailureSummaryDetails).sampleIds[0]).toHaveLength(MAX_ID_CHARS)
    } finally {
      await store.close()
    }
  })
})
