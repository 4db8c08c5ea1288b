import { spawn } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import { cloudosBin } from '../../shared/package-root.js'
import { getJson } from '../helpers/http.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** Runs `cloudos demo` until its banner is out, checks it, then sends SIGINT. */
async function runDemo(dataDir: string, check: (banner: string) => Promise<void>): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [cloudosBin(), 'demo', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0', '--hub-port', '0', '--sensors', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    await waitFor(() => stdout.includes('Try:'), { timeoutMs: 30_000, what: `the demo banner (stderr: ${stderr})` })
    await check(stdout)
  } finally {
    child.kill('SIGINT')
  }
  return { code: await exited, stdout }
}

describe('cloudos demo with its hub', () => {
  let tmp: TempDir
  beforeAll(() => {
    tmp = makeTempDir('cloudos-demo-hub-')
  })
  afterAll(() => tmp.remove())

  it('initialises a hub on the first run (credentials printed once), enrols the edge, and reuses both on the next run', async () => {
    const dataDir = join(tmp.path, 'demo')
    const first = await runDemo(dataDir, async (banner) => {
      // TLS end to end: the hub serves HTTPS with the CA it made, and the banner says so.
      expect(banner).toMatch(/Hub {11}https:\/\/127\.0\.0\.1:\d+ {3}\(API reference: https:\/\/127\.0\.0\.1:\d+\/docs\)/)
      expect(banner).toContain('HTTPS end to end')
      expect(banner).toMatch(/Hub TOTP {6}otpauth:\/\/totp\//)
      const http = /HTTP API +(\S+)/.exec(banner)?.[1] as string
      const hubUrl = /Hub +(http\S+)/.exec(banner)?.[1] as string
      const health = await waitFor(async () => {
        const body = (await getJson<{ hub: { state: string; deviceId: string } }>(http, '/healthz')).body
        return body.hub.state === 'online' && body
      }, { what: 'the demo edge linked to its hub' })
      expect(health.hub.deviceId).toMatch(/^dev-/)
      const ca = readFileSync(join(dataDir, 'hub', 'tls', 'hub-ca.pem'), 'utf8')
      const pinned = createHubTransport({ hubCaPem: ca })
      expect((await pinned.fetch(`${hubUrl}/docs/json`)).status).toBe(200)
      pinned.close()
      // Plain HTTP on the hub port gets no API.
      await expect(fetch(hubUrl.replace('https:', 'http:') + '/healthz')).rejects.toThrow()
    })
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('demo stopped')
    const credentials = join(dataDir, 'hub', 'demo-admin-credentials.json')
    expect(statSync(credentials).mode & 0o777).toBe(0o600)

    const second = await runDemo(dataDir, async (banner) => {
      expect(banner).not.toContain('otpauth://')
      expect(banner).toContain(`password in ${credentials} (mode 0600)`)
      const http = /HTTP API +(\S+)/.exec(banner)?.[1] as string
      await waitFor(async () => (await getJson<{ hub: { state: string } }>(http, '/healthz')).body.hub.state === 'online', { what: 'linked again' })
    })
    expect(second.code).toBe(0)
  })
})
