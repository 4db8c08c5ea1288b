import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generate } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePublicKey, generateDeviceKeyPair, signDeviceRequest } from '../../shared/device-auth/index.js'
import { cloudosBin } from '../../shared/package-root.js'
import { CONFIG_REPORT_PATH } from '../../shared/protocol/config-sync.js'
import { goodFacts } from '../hub/device-helper.js'
import { run, runCli, stopChild } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

const PASSWORD = 'compliance cli test password'

// The built CLI (`npm run build` first) against a hub running as its own process (`cloudos hub`), over real HTTP.
describe('cloudos hub compliance report (child processes)', () => {
  let tmp: TempDir
  let hubProcess: ChildProcess | undefined
  let url = ''
  let token = ''
  let deviceId = ''

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    return { status: response.status, body: (await response.json()) as any }
  }

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-compliance-cli-')
    const dataDir = join(tmp.path, 'hub')
    const init = await run(process.execPath, [cloudosBin(), 'hub', 'init', '--data-dir', dataDir, '--password-stdin', '--json'], { input: `${PASSWORD}\n` })
    expect(init.code, init.stderr).toBe(0)
    const { totpSecret } = JSON.parse(init.stdout) as { totpSecret: string }
    // This test is about the report, not the transport: plain HTTP on loopback, said explicitly where the hub build knows the flag (HTTPS by default).
    const plainHttp = (await runCli(['hub', 'run', '--help'])).stdout.includes('--insecure-http') ? ['--insecure-http'] : []
    // Policy checked every second (hub config, not env): the alerts command sees the seeded violation quickly.
    const configFile = join(tmp.path, 'hub-config.json')
    writeFileSync(configFile, JSON.stringify({ compliance: { policyCheckSeconds: 1 } }))
    hubProcess = spawn(process.execPath, [cloudosBin(), 'hub', '--data-dir', dataDir, '--port', '0', '--config', configFile, ...plainHttp], { stdio: ['ignore', 'pipe', 'pipe'] })
    const child = hubProcess
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve(JSON.parse(line) as { url: string }))
      child.once('exit', (code) => reject(new Error(`hub exited with ${code} before it was ready`)))
    })
    url = ready.url
    const login = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD, totp: await generate({ secret: totpSecret }) }) })
    expect(login.status).toBe(200)
    token = ((await login.json()) as { token: string }).token

    // Seeded: an admin who never confirmed TOTP, and a device (named with markup) that refused a device-local key.
    expect((await api('POST', '/v1/users', { username: 'nomfa', password: 'no mfa password 1', role: 'admin' })).status).toBe(201)
    const enrolment = await api('POST', '/v1/enrolment-tokens', { group: 'site-a', tier: 'edge' })
    const keys = generateDeviceKeyPair()
    const enrolled = await fetch(`${url}/v1/devices/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrolmentToken: enrolment.body.token, publicKey: encodePublicKey(keys.publicKey), facts: goodFacts, name: '<img src=x onerror=alert(1)>' }),
    })
    expect(enrolled.status).toBe(201)
    deviceId = ((await enrolled.json()) as { deviceId: string }).deviceId
    const report = JSON.stringify({
      group: 'site-a',
      appliedHeads: { device: [], group: [] },
      appliedAt: null,
      currentHeads: { device: [], group: [] },
      status: 'rejected',
      errors: [{ key: 'broker.listeners', code: 'CONFIG_ERR_DEVICE_LOCAL_KEY', reason: 'device-local key' }],
      pendingRestart: [],
    })
    const signed = signDeviceRequest(keys.privateKey, { deviceId, method: 'POST', path: CONFIG_REPORT_PATH, body: report, timestamp: Date.now() })
    expect((await fetch(`${url}${CONFIG_REPORT_PATH}`, { method: 'POST', headers: { ...signed, 'content-type': 'application/json' }, body: report })).status).toBe(200)
  }, 60_000)

  afterAll(async () => {
    if (hubProcess !== undefined) await stopChild(hubProcess)
    tmp?.remove()
  })

  const connection = () => ['--hub', url, '--token', token]

  it('writes the HTML report to --out: one page, the device name escaped, the failing controls named', async () => {
    const out = join(tmp.path, 'report.html')
    const result = await runCli(['hub', 'compliance', 'report', '--format', 'html', '--out', out, ...connection()])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`report written to ${out} (html,`)
    expect(statSync(out).mode & 0o077).toBe(0)
    const html = readFileSync(out, 'utf8')
    expect(html).toMatch(/^<!DOCTYPE html>/)
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).not.toContain('<img')
    expect(html).not.toMatch(/<script/i)
    expect(html).toMatch(/MFA on every admin: <span class="fail">FAIL<\/span>/)
    expect(html).toMatch(/Refused config keys: <span class="fail">FAIL<\/span>/)
    expect(html).toMatch(/Audit chain verified: <span class="pass">PASS<\/span>/)
  })

  it('writes the JSON report with --since and prints the pass/fail summary', async () => {
    const out = join(tmp.path, 'report.json')
    const result = await runCli(['hub', 'compliance', 'report', '--since', '2026-01-01', '--out', out, ...connection()])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^compliance: FAIL\n/)
    expect(result.stdout).toMatch(/FAIL {2}MFA on every admin \(1\)/)
    expect(result.stdout).toMatch(/pass {2}Audit chain verified/)
    const report = JSON.parse(readFileSync(out, 'utf8')) as any
    expect(report).toMatchObject({ formatVersion: 1, status: 'fail', period: { since: '2026-01-01T00:00:00.000Z' } })
    expect(report.controls.adminMfa.findings.map((f: { subject: string }) => f.subject)).toEqual(['user:nomfa'])
    expect(report.controls.refusedConfigKeys.devices[0]).toMatchObject({ deviceId, name: '<img src=x onerror=alert(1)>', refused: [{ key: 'broker.listeners' }] })
  })

  it('lists the open policy alerts, the unconfirmed admin among them', async () => {
    const listed = await waitFor(async () => {
      const result = await runCli(['hub', 'compliance', 'alerts', ...connection()])
      expect(result.code, result.stderr).toBe(0)
      return result.stdout.includes('admin-mfa user:nomfa') && result.stdout
    }, { timeoutMs: 15_000, intervalMs: 500, what: 'the admin-mfa alert in cloudos hub compliance alerts' })
    expect(listed).toMatch(/critical +admin-mfa user:nomfa: admin "nomfa" has never logged in with a TOTP code/)
    expect(listed).toMatch(/warning +refused-config-keys device:/)
  })

  it('refuses a malformed --since and a missing token with coded errors', async () => {
    const bad = await runCli(['hub', 'compliance', 'report', '--since', 'yesterday', ...connection()])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('--since')
    const noToken = await runCli(['hub', 'compliance', 'report', '--hub', url])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain('CLI_ERR_INVALID_FLAG')
  })
})
