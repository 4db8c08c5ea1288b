import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generate } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import { cloudosBin } from '../../shared/package-root.js'
import { run, runCli, stopChild } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

// Real processes of the built CLI (`npm test` builds dist/ first).
describe('cloudos hub (child processes)', () => {
  let tmp: TempDir
  let counter = 0
  const fresh = (name: string) => join(tmp.path, `${counter++}-${name}`)
  beforeAll(() => {
    tmp = makeTempDir('cloudos-hub-cli-')
  })
  afterAll(() => tmp.remove())

  it('explains how to initialise when started on a data dir that was never initialised', async () => {
    const dataDir = fresh('empty')
    const result = await runCli(['hub', '--data-dir', dataDir, '--port', '0'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('HUB_ERR_NOT_INITIALISED')
    expect(result.stderr).toContain(`cloudos hub init --data-dir ${dataDir}`)
  })

  it('init creates the identity and admin, prints the secrets once; a second init refuses and explains; audit verify detects tampering', async () => {
    const dataDir = fresh('hub')
    const init = await runCli(['hub', 'init', '--data-dir', dataDir])
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/admin password: [A-Za-z0-9_-]{24}\n/)
    expect(init.stdout).toMatch(/otpauth:\/\/totp\/.*secret=[A-Z2-7]+/)
    expect(init.stdout).toContain(`cloudos hub --data-dir ${dataDir}`)
    expect(statSync(join(dataDir, 'hub-key.pem')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, 'hub.db')).mode & 0o077).toBe(0)
    expect(readFileSync(join(dataDir, 'hub-key.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    // The TLS identity: a CA and a server certificate, private keys 0600, the pin printed.
    expect(statSync(join(dataDir, 'tls', 'hub-ca-key.pem')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, 'tls', 'hub-server-key.pem')).mode & 0o777).toBe(0o600)
    expect(init.stdout).toMatch(/hub CA pin: +sha256:[0-9a-f]{64}/)
    const identity = readFileSync(join(dataDir, 'hub-identity.json'), 'utf8')
    expect(JSON.parse(identity)).toMatchObject({ version: 1, hubId: expect.stringMatching(/^hub-/), publicKeyPem: expect.stringContaining('PUBLIC KEY') })

    const again = await runCli(['hub', 'init', '--data-dir', dataDir])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('HUB_ERR_ALREADY_INITIALISED')
    expect(again.stderr).toMatch(/hint: .*cloudos hub --data-dir DIR/)
    expect(readFileSync(join(dataDir, 'hub-identity.json'), 'utf8')).toBe(identity)

    const verified = await runCli(['hub', 'audit', 'verify', '--data-dir', dataDir])
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toMatch(/^audit log OK: 1 entries/)

    const db = new Database(join(dataDir, 'hub.db'))
    db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET target = 'mallory' WHERE seq = 1")
    db.close()
    const tampered = await runCli(['hub', 'audit', 'verify', '--data-dir', dataDir])
    expect(tampered.code).toBe(2)
    expect(tampered.stderr).toContain('HUB_ERR_AUDIT_TAMPERED')
    expect(tampered.stderr).toMatch(/altered at entry 1/)
  })

  it('runs the hub: ready line, login over real HTTP with the printed credentials, graceful stop on SIGTERM', async () => {
    const dataDir = fresh('running')
    const init = await run(process.execPath, [cloudosBin(), 'hub', 'init', '--data-dir', dataDir, '--password-stdin', '--json'], { input: 'a long operator password\n' })
    expect(init.code, init.stderr).toBe(0)
    const result = JSON.parse(init.stdout) as { totpSecret: string; generatedPassword?: string; adminUsername: string; caPin: string }
    expect(result.generatedPassword).toBeUndefined()
    expect(result.caPin).toMatch(/^sha256:[0-9a-f]{64}$/)

    const child = spawn(process.execPath, [cloudosBin(), 'hub', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const ready = await new Promise<{ event: string; url: string }>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout })
        lines.once('line', (line) => resolve(JSON.parse(line) as { event: string; url: string }))
        child.once('exit', (code) => reject(new Error(`hub exited with ${code} before it was ready`)))
      })
      expect(ready.event).toBe('hub.ready')
      // HTTPS by default, with the CA `hub init` made; plain HTTP gets nothing.
      expect(ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      await expect(globalThis.fetch(`${ready.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow()
      const pinned = createHubTransport({ hubCaPem: readFileSync(join(dataDir, 'tls', 'hub-ca.pem'), 'utf8') })
      const fetch = pinned.fetch
      const login = await fetch(`${ready.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'a long operator password', totp: await generate({ secret: result.totpSecret }) }),
      })
      expect(login.status).toBe(200)
      const { token } = (await login.json()) as { token: string }
      const audit = await fetch(`${ready.url}/v1/audit/verify`, { headers: { authorization: `Bearer ${token}` } })
      expect(await audit.json()).toMatchObject({ ok: true, entries: 3, head: { seq: 3 } })
      pinned.close()
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      await stopChild(child, 'SIGKILL')
    }
    const verified = await runCli(['hub', 'audit', 'verify', '--data-dir', dataDir])
    expect(verified.stdout).toMatch(/^audit log OK: 3 entries/)
  })

  it('init refuses a short password from stdin without creating anything', async () => {
    const dataDir = fresh('short')
    const init = await run(process.execPath, [cloudosBin(), 'hub', 'init', '--data-dir', dataDir, '--password-stdin'], { input: 'short\n' })
    expect(init.code).toBe(2)
    expect(init.stderr).toContain('at least 12 characters')
    const retry = await run(process.execPath, [cloudosBin(), 'hub', 'init', '--data-dir', dataDir, '--password-stdin'], { input: 'long enough password\n' })
    expect(retry.code, retry.stderr).toBe(0)
  })
})
