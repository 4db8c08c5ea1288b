import type { FastifyInstance } from 'fastify'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'otplib'
import { onTestFinished } from 'vitest'
import { buildHubApp } from '../../cloud/app.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'

/** A clock the test moves by hand (tokens expire, TOTP steps change). */
export interface TestClock {
  (): number
  advance(ms: number): void
}

export function testClock(start = Date.UTC(2026, 10, 26, 12, 0, 0)): TestClock {
  let now = start
  const clock = (() => now) as TestClock
  clock.advance = (ms) => {
    now += ms
  }
  return clock
}

export interface Account {
  username: string
  password: string
  totpSecret: string
}

export interface TestHub {
  app: FastifyInstance
  dataDir: string
  clock: TestClock
  admin: Account
  /** A TOTP code for `secret` at the test clock's time. */
  totp(secret: string): Promise<string>
  /** Moves the clock to the next TOTP step (codes are single use) and logs in; returns the bearer token. */
  login(account: Account): Promise<string>
}

export const ADMIN_PASSWORD = 'correct horse battery staple'

/**
 * An initialised hub in a fresh temp dir, built with a test clock; the app is
 * closed and the dir removed when the calling test finishes.
 */
export async function build(options: { config?: unknown; livenessTimer?: boolean } = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloudos-hub-test-'))
  const clock = testClock()
  let app: FastifyInstance | undefined
  onTestFinished(async () => {
    await app?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  const init = await initHub({ dataDir, adminPassword: ADMIN_PASSWORD, clock })
  // No liveness timer unless asked: tests drive offline detection with app.fleetLiveness.check() on the test clock.
  app = await buildHubApp({ dataDir, clock, config: options.config, livenessTimer: options.livenessTimer ?? false })
  const hubApp = app
  const totp = (secret: string) => generate({ secret, epoch: Math.floor(clock() / 1000) })
  return {
    app: hubApp,
    dataDir,
    clock,
    admin: { username: 'admin', password: ADMIN_PASSWORD, totpSecret: init.totpSecret },
    totp,
    async login(account) {
      clock.advance(30_000)
      const response = await hubApp.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { username: account.username, password: account.password, totp: await totp(account.totpSecret) },
      })
      if (response.statusCode !== 200) throw new Error(`login as ${account.username} failed: ${response.statusCode} ${response.body}`)
      return (response.json() as { token: string }).token
    },
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The TOTP secret inside an otpauth:// URI. */
export function secretOf(otpauthUri: string): string {
  const secret = new URL(otpauthUri).searchParams.get('secret')
  if (secret === null) throw new Error(`no secret in ${otpauthUri}`)
  return secret
}
