import Database from 'better-sqlite3'
import { FormatRegistry } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { AuditLog } from '../../cloud/audit/audit-log.js'
import { ComplianceReport } from '../../cloud/compliance/report-schema.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { CONFIG_REPORT_PATH } from '../../shared/protocol/config-sync.js'
import { HEARTBEAT_PATH } from '../../shared/protocol/heartbeat.js'
import { enrolDevice, health } from '../hub/device-helper.js'
import { bearer, build, type TestHub } from '../hub/helper.js'
import { makeBundle, newReleaseKey, trustKey, upload } from '../hub/ota-helper.js'

const DAY = 86_400_000
// TypeBox checks formats only once they are registered: the same check as the route's ajv.
FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)))

/** Edits hub.db behind the hub's back (triggers dropped first), as someone with the file could. */
function tamper(hub: TestHub, sql: string): void {
  const db = new Database(join(hub.dataDir, 'hub.db'))
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;')
    db.exec(sql)
  } finally {
    db.close()
  }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-compliance-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const refusedReport = (key: string) => ({
  group: 'wind-farm-1',
  appliedHeads: { device: [], group: [] },
  appliedAt: null,
  currentHeads: { device: [], group: [] },
  status: 'rejected',
  errors: [{ key, code: 'CONFIG_ERR_DEVICE_LOCAL_KEY', reason: `${key} is device-local: set it in the device's own config file`, layer: 'group' }],
  pendingRestart: [],
})

type Report = ComplianceReport

/**
 * A hub with every control failing once: an admin who never confirmed TOTP,
 * an old release key, a device on an unsigned runtime, one behind a release
 * uploaded 31 days ago, a device (named with markup) that refused a
 * device-local key, failed logins (single rows and a summary), and one
 * audit row altered in the database.
 */
async function seededHub(): Promise<{ hub: TestHub; token: string; devices: { unsigned: string; current: string; hostile: string }; tamperedSeq: number }> {
  // Served with --insecure-http: the TLS control fails too (a default hub serves HTTPS: see the test below).
  const hub = await build({ config: { compliance: { maxFailedLoginsPerSource: 20 }, http: { insecureHttp: true } } })
  let token = await hub.login(hub.admin)
  const createdAdmin = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'olga', password: 'olga password 123', role: 'admin' } })
  expect(createdAdmin.statusCode, createdAdmin.body).toBe(201)

  const key = newReleaseKey()
  await trustKey(hub, token, key, 'release team 2024')
  const bundle = await makeBundle(tempDir(), { key, name: 'cloudos-runtime', version: '1.1.0', expiresAt: new Date(hub.clock() + 365 * DAY).toISOString() })
  const uploaded = await upload(hub, token, readFileSync(bundle.path))
  expect(uploaded.statusCode, uploaded.body).toBe(201)

  const unsigned = await enrolDevice(hub, token, { name: 'pump-7' })
  const current = await enrolDevice(hub, token, { name: 'pump-8' })
  const hostile = await enrolDevice(hub, token, { name: '<script>alert("x")</script>' })
  expect((await unsigned.send('POST', HEARTBEAT_PATH, health({ versions: { runtime: '1.0.0' } }))).statusCode).toBe(200)
  expect((await current.send('POST', HEARTBEAT_PATH, health({ versions: { runtime: '1.1.0' } }))).statusCode).toBe(200)
  const reported = await hostile.send('POST', CONFIG_REPORT_PATH, refusedReport('localApi.auth'))
  expect(reported.statusCode, reported.body).toBe(200)

  for (let i = 0; i < 3; i++) {
    const failed = await hub.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: 'wrong password', totp: '000000' } })
    expect(failed.statusCode).toBe(401)
  }
  // The armoured hub summarises those three in one auth.failures entry when their window ends.
  hub.clock.advance(61_000)
  await hub.app.authFailures.flushDue()
  // A failed-authentication summary row, as the armoured hub writes them (one per source per window), appended through the real audit log.
  const store = SqliteHubStore.open(hub.dataDir)
  try {
    const audit = new AuditLog(store.audit, HubIdentity.load(hub.dataDir), hub.clock)
    await audit.record('auth.failures', 'anonymous', '203.0.113.9', {
      source: '203.0.113.9',
      kind: 'login',
      count: 40,
      windowStart: new Date(hub.clock() - 60_000).toISOString(),
      windowEnd: new Date(hub.clock()).toISOString(),
      codes: { unknown_user: 30, bad_password: 10 },
      sampleIds: ['root', 'admin'],
    })
    const failedRow = (await store.audit.all()).find((e) => e.action === 'auth.failures')
    expect(failedRow).toBeDefined()
    const tamperedSeq = failedRow?.seq ?? 0
    // The release key was added "long ago"; an audit row is rewritten to hide whose login failed.
    tamper(hub, `UPDATE release_keys SET added_at = ${hub.clock() - 400 * DAY}; UPDATE audit_log SET target = 'nobody' WHERE seq = ${tamperedSeq}`)
    // The release is 31 days old by the time of the report: pump-7 and pump-8 are measured against it.
    hub.clock.advance(31 * DAY)
    token = await hub.login(hub.admin)
    return { hub, token, devices: { unsigned: unsigned.deviceId, current: current.deviceId, hostile: hostile.deviceId }, tamperedSeq }
  } finally {
    await store.close()
  }
}

describe('compliance report (GET /v1/compliance/report) against a real hub on SQLite', () => {
  it('reports TLS on for a hub that serves HTTPS (the default)', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const response = await hub.app.inject({ url: '/v1/compliance/report', headers: bearer(token) })
    expect(response.statusCode, response.body).toBe(200)
    expect((response.json() as Report).controls.transportTls).toMatchObject({ tls: true, insecureHttp: false, status: 'pass', findings: [] })
  })

  it('fails each seeded control, says where, and answers the documented JSON shape', async () => {
    const { hub, token, devices, tamperedSeq } = await seededHub()
    const response = await hub.app.inject({ url: '/v1/compliance/report?since=2026-11-01', headers: bearer(token) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const report = response.json() as Report
    expect([...Value.Errors(ComplianceReport, report)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
    expect(report.status).toBe('fail')
    expect(report.period.since).toBe('2026-11-01T00:00:00.000Z')
    expect(Object.fromEntries(report.summary.map((s) => [s.id, s.status]))).toEqual({
      'admin-mfa': 'fail',
      'transport-tls': 'fail',
      'audit-chain': 'fail',
      'key-age': 'fail',
      'device-software': 'fail',
      'refused-config-keys': 'fail',
      'failed-logins': 'fail',
    })
    const { adminMfa, auditChain, keyAge, deviceSoftware, refusedConfigKeys, failedLogins, transportTls } = report.controls

    // The first admin confirmed TOTP by logging in; olga never did.
    expect(adminMfa.admins).toEqual([
      { username: 'admin', mfa: 'confirmed', createdAt: expect.any(String) },
      { username: 'olga', mfa: 'unconfirmed', createdAt: expect.any(String) },
    ])
    expect(adminMfa.findings.map((f) => f.subject)).toEqual(['user:olga'])

    expect(transportTls).toMatchObject({ tls: false, insecureHttp: true, status: 'fail' })

    expect(auditChain.verified).toBe(false)
    expect(auditChain.problem).toMatchObject({ kind: 'altered', seq: tamperedSeq })
    expect(auditChain.findings[0]?.message).toContain(`altered at entry ${tamperedSeq}`)
    // The head is still the one the hub signed: its signature verifies; the chain under it does not.
    expect(auditChain.head).toMatchObject({ seq: auditChain.entries })
    expect(auditChain.headSignatureValid).toBe(true)

    const releaseKey = keyAge.keys.find((k) => k.kind === 'release-key')
    expect(releaseKey).toMatchObject({ name: 'release team 2024', dated: expect.stringContaining('added'), ageDays: expect.any(Number) })
    expect(releaseKey?.ageDays).toBeGreaterThan(400)
    expect(keyAge.findings.map((f) => f.subject)).toEqual([`release-key:${releaseKey?.id}`])
    expect(keyAge.keys.find((k) => k.kind === 'hub-identity')?.ageDays).toBeCloseTo(31, 0)
    expect(keyAge.keys.filter((k) => k.kind === 'device-key')).toHaveLength(3)

    expect(deviceSoftware.devicesChecked).toBe(2)
    expect(deviceSoftware.devices).toEqual([
      { deviceId: devices.unsigned, name: 'pump-7', component: 'runtime', version: '1.0.0', problems: ['unsigned', 'out-of-date'], expectedVersion: '1.1.0' },
    ])
    expect(deviceSoftware.findings.map((f) => f.subject).sort()).toEqual([`device:${devices.unsigned}:runtime:out-of-date`, `device:${devices.unsigned}:runtime:unsigned`])

    expect(refusedConfigKeys.devices).toEqual([
      { deviceId: devices.hostile, name: '<script>alert("x")</script>', reportedAt: expect.any(String), refused: [{ key: 'localApi.auth', code: 'CONFIG_ERR_DEVICE_LOCAL_KEY', reason: expect.stringContaining('device-local') }] },
    ])

    // Three single rows from the injected client and the 40 of the summary row: only the summary's source is over 20.
    expect(failedLogins.total).toBe(43)
    expect(failedLogins.sources.map((s) => [s.source, s.count])).toEqual([['203.0.113.9', 40], ['127.0.0.1', 3]])
    expect(failedLogins.sources[0]?.kinds).toEqual({ 'login:unknown_user': 30, 'login:bad_password': 10 })
    expect(failedLogins.sources[1]?.kinds).toEqual({ 'login:bad_password': 3 })
    expect(failedLogins.findings.map((f) => f.subject)).toEqual(['source:203.0.113.9'])
  })

  it('counts failed logins only from --since', async () => {
    const { hub, token } = await seededHub()
    const later = await hub.app.inject({ url: `/v1/compliance/report?since=${new Date(hub.clock() - DAY).toISOString()}`, headers: bearer(token) })
    expect(later.statusCode, later.body).toBe(200)
    expect((later.json() as Report).controls.failedLogins).toMatchObject({ total: 0, status: 'pass', sources: [] })
    const bad = await hub.app.inject({ url: '/v1/compliance/report?since=last%20tuesday', headers: bearer(token) })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('since') })
  })

  it('renders one self-contained HTML page: summary first, every value escaped, no script', async () => {
    const { hub, token } = await seededHub()
    const response = await hub.app.inject({ url: '/v1/compliance/report?format=html', headers: bearer(token) })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/html; charset=utf-8/)
    const html = response.body
    expect(html).toMatch(/^<!DOCTYPE html>/)
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;')
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/\s(src|href)="(https?:)?\/\//i)
    expect(html).toContain('<style>')
    // Summary (pass/fail per control) before the details.
    const summaryAt = html.indexOf('<h2>Summary</h2>')
    expect(summaryAt).toBeGreaterThan(0)
    expect(summaryAt).toBeLessThan(html.indexOf('<section id="admin-mfa">'))
    for (const title of ['MFA on every admin', 'TLS on', 'Audit chain verified', 'Key ages and rotation', 'Devices on signed, current software', 'Refused config keys', 'Failed logins']) {
      expect(html).toContain(title)
    }
    expect(html).toMatch(/altered at entry \d+/)
  })

  it('is for admins only', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'vera', password: 'viewer password 1' } })
    const vera = { username: 'vera', password: 'viewer password 1', totpSecret: new URL((created.json() as { otpauthUri: string }).otpauthUri).searchParams.get('secret') as string }
    const viewerToken = await hub.login(vera)
    expect((await hub.app.inject({ url: '/v1/compliance/report', headers: bearer(viewerToken) })).json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN' })
    expect((await hub.app.inject({ url: '/v1/compliance/report' })).statusCode).toBe(401)
  })
})

describe('compliance routes in the OpenAPI description', () => {
  it('documents the report (JSON schema and HTML) and the hub alerts list, behind the bearer token', async () => {
    const hub = await build()
    const spec = (await hub.app.inject({ url: '/docs/json' })).json() as any
    const report = spec.paths['/v1/compliance/report'].get
    expect(report.security).toEqual([{ bearerAuth: [] }])
    expect(report.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['format', 'since'])
    expect(Object.keys(report.responses['200'].content).sort()).toEqual(['application/json', 'text/html'])
    const ref = String(report.responses['200'].content['application/json'].schema.$ref).replace('#/components/schemas/', '')
    expect(spec.components.schemas[ref]).toMatchObject({ title: 'ComplianceReport', properties: { controls: { properties: { auditChain: expect.any(Object) } } } })
    expect(spec.paths['/v1/hub-alerts'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['limit', 'open', 'source'])
  })
})
