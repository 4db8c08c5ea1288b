import { describe, expect, it } from 'vitest'
import type { UserId, UserRecord } from '../../cloud/accounts/user-repository.js'
import type { AuditEntry } from '../../cloud/audit/audit-repository.js'
import { adminMfaControl, failedLoginsControl, MAX_TALLIED_SOURCES, OTHER_SOURCES } from '../../cloud/compliance/account-controls.js'
import { deviceSoftwareControl } from '../../cloud/compliance/device-software-control.js'
import { keyAgeControl } from '../../cloud/compliance/key-age-control.js'
import { escapeHtml } from '../../cloud/compliance/html-report.js'
import type { DeviceId, DeviceRecord } from '../../cloud/devices/device-repository.js'
import type { ReleaseId, ReleaseRecord } from '../../cloud/ota/release-repository.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 11, 1)

const user = (username: string, over: Partial<UserRecord> & { disabledAt?: number | null } = {}): UserRecord =>
  ({ id: username as UserId, username, role: 'admin', passwordHash: 'x', totpSecret: 'JBSWY3DPEHPK3PXP', totpLastStep: 1, createdAt: NOW - DAY, ...over }) as UserRecord

const entry = (seq: number, action: string, target: string, details: Record<string, unknown>, ts = NOW - 1000): AuditEntry => ({ seq, ts, actor: 'anonymous', action, target, details, prevHash: '', hash: '' })

const device = (id: string, runtime: string | undefined, arch = 'arm64'): DeviceRecord =>
  ({
    id: id as DeviceId,
    name: id,
    group: 'g',
    tier: 'edge',
    publicKey: id,
    facts: { cpuCount: 1, memoryBytes: 1, freeDiskBytes: 1, arch, os: 'linux', runtimeVersion: 'v20' },
    status: 'active',
    enrolmentTokenId: 't',
    enrolledAt: NOW - DAY,
    lastSeenAt: null,
    revokedAt: null,
    labels: {},
    liveness: 'online',
    lastHeartbeatAt: NOW,
    health: runtime === undefined ? null : { at: NOW, health: { uptimeSeconds: 1, queueDepth: 0, dbSizeBytes: 1, readingsPerSecond: 0, rejectedPerSecond: 0, cpuPercent: 0, memoryBytes: 1, versions: { runtime } } },
  }) as DeviceRecord

const release = (id: string, version: string, over: { signingKeyId?: string; expiresAt?: number; uploadedAt?: number; arch?: string[] } = {}): ReleaseRecord =>
  ({
    id: id as ReleaseId,
    name: 'cloudos-runtime',
    version,
    kind: 'runtime',
    manifest: { target: over.arch === undefined ? {} : { arch: over.arch }, expiresAt: new Date(over.expiresAt ?? NOW + 365 * DAY).toISOString() },
    bundleFile: `${id}.bundle`,
    bundleBytes: 1,
    bundleSha256: '0',
    signingKeyId: over.signingKeyId ?? 'k1',
    uploadedBy: 'user:admin',
    uploadedAt: over.uploadedAt ?? NOW - 40 * DAY,
  }) as unknown as ReleaseRecord

describe('compliance controls (pure)', () => {
  it('admin MFA: confirmed, unconfirmed and missing; viewers and disabled admins are left out', () => {
    const control = adminMfaControl([
      user('ok'),
      user('fresh', { totpLastStep: null }),
      user('nosecret', { totpSecret: '' }),
      user('viewer', { role: 'viewer', totpLastStep: null }),
      user('gone', { totpLastStep: null, disabledAt: NOW - 1 }),
    ])
    expect(control.admins.map((a) => [a.username, a.mfa])).toEqual([['ok', 'confirmed'], ['fresh', 'unconfirmed'], ['nosecret', 'missing']])
    expect(control.findings.map((f) => f.subject)).toEqual(['user:fresh', 'user:nosecret'])
    expect(control.status).toBe('fail')
    expect(adminMfaControl([user('ok')]).status).toBe('pass')
  })

  it('failed logins: summary rows (per-code kinds) and single rows add up per source, only inside the period', () => {
    const entries = [
      entry(1, 'auth.failures', '198.51.100.4', { source: '198.51.100.4', kind: 'device', count: 7, windowStart: new Date(NOW - 60_000).toISOString(), windowEnd: new Date(NOW).toISOString(), codes: { HUB_ERR_DEVICE_SIGNATURE_INVALID: 5 } }),
      entry(2, 'auth.login_failed', 'admin', { reason: 'bad_totp', ip: '198.51.100.4' }),
      entry(3, 'device.enrol_refused', 'tok', { code: 'HUB_ERR_ENROLMENT_TOKEN_INVALID', ip: '192.0.2.1' }),
      entry(4, 'auth.login_failed', 'admin', { reason: 'bad_password', ip: '192.0.2.1' }, NOW - 10 * DAY),
      entry(5, 'auth.login', 'admin', { ip: '192.0.2.1' }),
    ]
    const control = failedLoginsControl(entries, NOW - DAY, NOW + 1, 5)
    expect(control.sources).toEqual([
      { source: '198.51.100.4', kinds: { 'device:HUB_ERR_DEVICE_SIGNATURE_INVALID': 5, device: 2, 'login:bad_totp': 1 }, count: 8, firstAt: new Date(NOW - 60_000).toISOString(), lastAt: new Date(NOW).toISOString() },
      { source: '192.0.2.1', kinds: { 'enrolment:HUB_ERR_ENROLMENT_TOKEN_INVALID': 1 }, count: 1, firstAt: expect.any(String), lastAt: expect.any(String) },
    ])
    expect(control.total).toBe(9)
    expect(control.findings.map((f) => f.subject)).toEqual(['source:198.51.100.4'])
  })

  it('failed logins: past MAX_TALLIED_SOURCES distinct sources, the rest are counted together', () => {
    const entries = Array.from({ length: MAX_TALLIED_SOURCES + 5 }, (_, i) => entry(i + 1, 'auth.login_failed', 'admin', { reason: 'unknown_user', ip: `source-${i}` }))
    const control = failedLoginsControl(entries, 0, NOW, 100)
    expect(control.sources).toHaveLength(MAX_TALLIED_SOURCES + 1)
    expect(control.sources[0]).toMatchObject({ source: OTHER_SOURCES, count: 5 })
    expect(control.total).toBe(MAX_TALLIED_SOURCES + 5)
  })

  it('device software: unsigned, untrusted key, expired, out of date by age or by a completed rollout, other architectures ignored', () => {
    const releases = [
      release('r100', '1.0.0'),
      release('r110', '1.1.0', { signingKeyId: 'removed-key' }),
      release('r120', '1.2.0', { expiresAt: NOW - DAY }),
      release('r130', '1.3.0', { uploadedAt: NOW - 2 * DAY }),
      release('r200', '2.0.0', { arch: ['x64'] }),
    ]
    const control = deviceSoftwareControl({
      devices: [device('a', '0.9.0'), device('b', '1.1.0'), device('c', '1.2.0'), device('d', '1.0.0'), device('e', '1.3.0'), device('silent', undefined)],
      releases,
      trustedKeyIds: new Set(['k1']),
      completedReleaseIds: new Map([['d', new Set(['r130'])]]),
      now: NOW,
      outdatedAfterDays: 30,
    })
    expect(control.devicesChecked).toBe(5)
    expect(control.devices.map((d) => [d.deviceId, d.problems, d.expectedVersion])).toEqual([
      ['a', ['unsigned', 'out-of-date'], '1.0.0'],
      ['b', ['unsigned'], null],
      ['c', ['expired'], null],
      // 1.3.0 is two days old, but a completed rollout already gave it to d.
      ['d', ['out-of-date'], '1.3.0'],
    ])
    expect(control.findings).toHaveLength(5)
    expect(control.unmanagedComponents).toEqual([])
    const unmanaged = deviceSoftwareControl({ devices: [device('a', '0.9.0')], releases: [], trustedKeyIds: new Set(), completedReleaseIds: new Map(), now: NOW, outdatedAfterDays: 30 })
    expect(unmanaged).toMatchObject({ status: 'pass', unmanagedComponents: ['runtime'], devicesChecked: 1 })
  })

  it('key age: older than the maximum is a finding; an undated key is listed, not failed', () => {
    const control = keyAgeControl(
      [
        { kind: 'hub-identity', id: 'hub-1', name: 'hub', createdAt: NOW - 10 * DAY, dated: 'file' },
        { kind: 'release-key', id: 'k1', name: 'team', createdAt: NOW - 400 * DAY, dated: 'added' },
        { kind: 'device-key', id: 'd1', name: 'pump', createdAt: NOW - 366 * DAY, dated: 'enrolment' },
        { kind: 'release-key', id: 'k2', name: '/etc/key.pem', createdAt: null, dated: 'file time' },
      ],
      NOW,
      365,
    )
    expect(control.findings.map((f) => [f.subject, f.severity])).toEqual([['release-key:k1', 'critical'], ['device-key:d1', 'warning']])
    expect(control.keys.find((k) => k.id === 'k2')).toMatchObject({ createdAt: null, ageDays: null })
  })

  it('escapes the five HTML characters', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })
})
