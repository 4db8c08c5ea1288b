import Database from 'better-sqlite3'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, bearer, build, secretOf, type TestHub } from './helper.js'

async function loginRaw(hub: TestHub, body: Record<string, unknown>) {
  return hub.app.inject({ method: 'POST', url: '/v1/auth/login', payload: body })
}

async function createUser(hub: TestHub, token: string, body: Record<string, unknown>) {
  return hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: body })
}

describe('hub admin auth', () => {
  it('logs in with password + TOTP and gives a short-lived bearer token that opens admin routes', async () => {
    const hub = await build()
    hub.clock.advance(30_000)
    const response = await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: await hub.totp(hub.admin.totpSecret) })
    expect(response.statusCode).toBe(200)
    const body = response.json() as { token: string; tokenType: string; expiresAt: string; role: string }
    expect(body).toMatchObject({ tokenType: 'Bearer', role: 'admin', username: 'admin' })
    expect(Date.parse(body.expiresAt) - hub.clock()).toBe(900_000)
    const users = await hub.app.inject({ url: '/v1/users', headers: bearer(body.token) })
    expect(users.statusCode).toBe(200)
    expect(users.json()).toMatchObject({ users: [{ username: 'admin', role: 'admin' }] })
    expect(users.body).not.toMatch(/password|totp/i)
  })

  it('stores only a hash of the token', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const db = new Database(join(hub.dataDir, 'hub.db'), { readonly: true })
    try {
      const rows = db.prepare('SELECT * FROM sessions').all() as Record<string, unknown>[]
      expect(rows).toHaveLength(1)
      expect(JSON.stringify(rows)).not.toContain(token)
    } finally {
      db.close()
    }
  })

  it('answers a wrong password, a wrong TOTP and an unknown user with the same 401', async () => {
    const hub = await build()
    hub.clock.advance(30_000)
    const code = await hub.totp(hub.admin.totpSecret)
    const wrongPassword = await loginRaw(hub, { username: 'admin', password: 'not the password', totp: code })
    const wrongTotp = await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code === '000000' ? '111111' : '000000' })
    const unknownUser = await loginRaw(hub, { username: 'mallory', password: ADMIN_PASSWORD, totp: code })
    for (const response of [wrongPassword, wrongTotp, unknownUser]) {
      expect(response.statusCode).toBe(401)
      expect(response.json().code).toBe('HUB_ERR_LOGIN_FAILED')
    }
    expect(wrongPassword.body).toBe(wrongTotp.body)
    expect(wrongTotp.body).toBe(unknownUser.body)
    // The right credentials still work afterwards (the failed attempts used no TOTP step).
    expect((await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code })).statusCode).toBe(200)
  })

  it('refuses a replayed TOTP code, even with the right password', async () => {
    const hub = await build()
    hub.clock.advance(30_000)
    const code = await hub.totp(hub.admin.totpSecret)
    const first = await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code })
    expect(first.statusCode).toBe(200)
    const replay = await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code })
    expect(replay.statusCode).toBe(401)
    expect(replay.json().code).toBe('HUB_ERR_LOGIN_FAILED')
    // Still refused 10 s later within the same step, and a code from an earlier step is refused too.
    hub.clock.advance(10_000)
    expect((await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code })).statusCode).toBe(401)
    // The next step's code is accepted.
    hub.clock.advance(30_000)
    expect((await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: await hub.totp(hub.admin.totpSecret) })).statusCode).toBe(200)
  })

  it('accepts one step of clock drift but not more', async () => {
    const hub = await build()
    hub.clock.advance(60_000)
    const code = await hub.totp(hub.admin.totpSecret)
    hub.clock.advance(30_000)
    expect((await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: code })).statusCode).toBe(200)
    hub.clock.advance(120_000)
    const old = await hub.totp(hub.admin.totpSecret)
    hub.clock.advance(90_000)
    expect((await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: old })).statusCode).toBe(401)
  })

  it('refuses admin routes without a token, with a malformed or unknown token, and after the token expires', async () => {
    const hub = await build({ config: { auth: { tokenTtlSeconds: 60 } } })
    const none = await hub.app.inject({ url: '/v1/users' })
    expect(none.statusCode).toBe(401)
    expect(none.json().code).toBe('HUB_ERR_UNAUTHENTICATED')
    const malformed = await hub.app.inject({ url: '/v1/users', headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } })
    expect(malformed.statusCode).toBe(401)
    const unknown = await hub.app.inject({ url: '/v1/users', headers: bearer('A'.repeat(43)) })
    expect(unknown.statusCode).toBe(401)
    expect(unknown.json().message).toMatch(/unknown or has expired/)

    const token = await hub.login(hub.admin)
    expect((await hub.app.inject({ url: '/v1/users', headers: bearer(token) })).statusCode).toBe(200)
    hub.clock.advance(59_000)
    expect((await hub.app.inject({ url: '/v1/users', headers: bearer(token) })).statusCode).toBe(200)
    hub.clock.advance(1_000)
    const expired = await hub.app.inject({ url: '/v1/users', headers: bearer(token) })
    expect(expired.statusCode).toBe(401)
    expect(expired.json().code).toBe('HUB_ERR_UNAUTHENTICATED')
  })

  it('lets an admin create a viewer who can read but gets 403 on write routes', async () => {
    const hub = await build()
    const adminToken = await hub.login(hub.admin)
    const created = await createUser(hub, adminToken, { username: 'vera', password: 'viewer password 1' })
    expect(created.statusCode).toBe(201)
    const viewer = created.json() as { username: string; role: string; otpauthUri: string }
    expect(viewer).toMatchObject({ username: 'vera', role: 'viewer', otpauthUri: expect.stringMatching(/^otpauth:\/\/totp\//) })

    const viewerToken = await hub.login({ username: 'vera', password: 'viewer password 1', totpSecret: secretOf(viewer.otpauthUri) })
    const list = await hub.app.inject({ url: '/v1/users', headers: bearer(viewerToken) })
    expect(list.statusCode).toBe(200)
    expect((list.json() as { users: { username: string }[] }).users.map((u) => u.username)).toEqual(['admin', 'vera'])
    expect((await hub.app.inject({ url: '/v1/audit', headers: bearer(viewerToken) })).statusCode).toBe(200)

    const write = await createUser(hub, viewerToken, { username: 'eve', password: 'another password', role: 'admin' })
    expect(write.statusCode).toBe(403)
    expect(write.json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN', message: expect.stringContaining('"vera" is a viewer') })
    const names = ((await hub.app.inject({ url: '/v1/users', headers: bearer(adminToken) })).json() as { users: { username: string }[] }).users.map((u) => u.username)
    expect(names).not.toContain('eve')
  })

  it('refuses a duplicate username, a short password and a bad role', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const duplicate = await createUser(hub, token, { username: 'admin', password: 'long enough password' })
    expect(duplicate.statusCode).toBe(409)
    expect(duplicate.json().code).toBe('HUB_ERR_CONFLICT')
    const short = await createUser(hub, token, { username: 'bob', password: 'short' })
    expect(short.statusCode).toBe(400)
    expect(short.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('password') })
    const role = await createUser(hub, token, { username: 'bob', password: 'long enough password', role: 'root' })
    expect(role.statusCode).toBe(400)
  })

  it('rate-limits login attempts per address with HUB_ERR_RATE_LIMITED and Retry-After', async () => {
    const hub = await build({ config: { auth: { loginRateLimitMax: 3, loginRateLimitWindowSeconds: 60 } } })
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await loginRaw(hub, { username: 'admin', password: 'guess ' + i, totp: '123456' })).statusCode)
    expect(statuses).toEqual([401, 401, 401])
    const limited = await loginRaw(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: await hub.totp(hub.admin.totpSecret) })
    expect(limited.statusCode).toBe(429)
    expect(limited.json().code).toBe('HUB_ERR_RATE_LIMITED')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // Other routes are not limited.
    expect((await hub.app.inject('/healthz')).statusCode).toBe(200)
    const metrics = (await hub.app.inject('/metrics')).body
    expect(metrics).toMatch(/cloudos_hub_logins_total\{outcome="failed"\} 3/)
    expect(metrics).toMatch(/cloudos_hub_logins_total\{outcome="rate_limited"\} 1/)
  })
})
