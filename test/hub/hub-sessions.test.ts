import { describe, expect, it } from 'vitest'
import { bearer, build, secretOf, type Account, type TestHub } from './helper.js'

async function createUser(hub: TestHub, token: string, username: string, role: 'admin' | 'viewer' = 'viewer'): Promise<Account> {
  const password = `${username} password 1`
  const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username, password, role } })
  expect(created.statusCode, created.body).toBe(201)
  return { username, password, totpSecret: secretOf(created.json().otpauthUri as string) }
}

const users = (hub: TestHub, token: string) => hub.app.inject({ url: '/v1/users', headers: bearer(token) })

async function auditActions(hub: TestHub, token: string): Promise<{ action: string; actor: string; target: string; details: Record<string, unknown> }[]> {
  return ((await hub.app.inject({ url: '/v1/audit?limit=1000', headers: bearer(token) })).json() as { entries: { action: string; actor: string; target: string; details: Record<string, unknown> }[] }).entries
}

describe('hub sessions and accounts', () => {
  it('logout revokes the token of the request (audited); other sessions stay unless allSessions', async () => {
    const hub = await build()
    const first = await hub.login(hub.admin)
    const second = await hub.login(hub.admin)
    const third = await hub.login(hub.admin)
    const out = await hub.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(first) })
    expect(out.statusCode, out.body).toBe(200)
    expect(out.json()).toEqual({ revoked: 1 })
    expect((await users(hub, first)).statusCode).toBe(401)
    expect((await users(hub, first)).json().code).toBe('HUB_ERR_UNAUTHENTICATED')
    expect((await users(hub, second)).statusCode).toBe(200)
    const everywhere = await hub.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(second), payload: { allSessions: true } })
    expect(everywhere.json()).toEqual({ revoked: 2 })
    expect((await users(hub, third)).statusCode).toBe(401)
    expect((await hub.app.inject({ method: 'POST', url: '/v1/auth/logout' })).statusCode).toBe(401)
    const token = await hub.login(hub.admin)
    expect((await auditActions(hub, token)).filter((e) => e.action === 'auth.logout').map((e) => [e.actor, e.details.revoked, e.details.allSessions])).toEqual([
      ['user:admin', 1, false],
      ['user:admin', 2, true],
    ])
  })

  it('an admin revokes another user\'s sessions: their tokens stop working at once (audited); viewers may not', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const vera = await createUser(hub, admin, 'vera')
    const veraToken = await hub.login(vera)
    const veraToken2 = await hub.login(vera)
    expect((await hub.app.inject({ method: 'POST', url: '/v1/users/admin/revoke-sessions', headers: bearer(veraToken) })).statusCode).toBe(403)
    const revoked = await hub.app.inject({ method: 'POST', url: '/v1/users/vera/revoke-sessions', headers: bearer(admin) })
    expect(revoked.statusCode, revoked.body).toBe(200)
    expect(revoked.json()).toEqual({ username: 'vera', revoked: 2 })
    expect((await users(hub, veraToken)).statusCode).toBe(401)
    expect((await users(hub, veraToken2)).statusCode).toBe(401)
    // She can log in again.
    expect((await users(hub, await hub.login(vera))).statusCode).toBe(200)
    expect((await hub.app.inject({ method: 'POST', url: '/v1/users/nobody/revoke-sessions', headers: bearer(admin) })).json().code).toBe('HUB_ERR_NOT_FOUND')
    expect((await auditActions(hub, admin)).find((e) => e.action === 'user.sessions_revoked')).toMatchObject({ actor: 'user:admin', target: 'vera', details: { revoked: 2 } })
  })

  it('a disabled user\'s tokens stop working at once and it cannot log in until enabled again (audited)', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const vera = await createUser(hub, admin, 'vera')
    const veraToken = await hub.login(vera)
    const disabled = await hub.app.inject({ method: 'POST', url: '/v1/users/vera/disable', headers: bearer(admin) })
    expect(disabled.statusCode, disabled.body).toBe(200)
    expect(disabled.json()).toMatchObject({ username: 'vera', disabled: true })
    expect((await users(hub, veraToken)).statusCode).toBe(401)
    await expect(hub.login(vera)).rejects.toThrow(/401/)
    expect((await users(hub, admin)).json().users).toContainEqual(expect.objectContaining({ username: 'vera', disabled: true }))
    const enabled = await hub.app.inject({ method: 'POST', url: '/v1/users/vera/enable', headers: bearer(admin) })
    expect(enabled.json()).toMatchObject({ username: 'vera', disabled: false })
    expect((await users(hub, await hub.login(vera))).statusCode).toBe(200)
    const actions = await auditActions(hub, admin)
    expect(actions.filter((e) => e.action.startsWith('user.')).map((e) => [e.action, e.target])).toEqual([
      ['user.create', 'vera'],
      ['user.disable', 'vera'],
      ['user.enable', 'vera'],
    ])
    // The refused login is summarised (reason "disabled"), not told to the caller.
    hub.clock.advance(60_000)
    await hub.app.authFailures.flushDue()
    const failures = (await auditActions(hub, admin)).filter((e) => e.action === 'auth.failures')
    expect(failures.at(-1)?.details).toMatchObject({ kind: 'login', codes: { disabled: 1 }, sampleIds: ['vera'] })
  })

  it('a deleted user\'s tokens stop working at once; the name is free again; audited', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    const vera = await createUser(hub, admin, 'vera')
    const veraToken = await hub.login(vera)
    const deleted = await hub.app.inject({ method: 'DELETE', url: '/v1/users/vera', headers: bearer(admin) })
    expect(deleted.statusCode, deleted.body).toBe(200)
    expect(deleted.json()).toEqual({ username: 'vera', deleted: true })
    expect((await users(hub, veraToken)).statusCode).toBe(401)
    expect((await users(hub, admin)).json().users.map((u: { username: string }) => u.username)).toEqual(['admin'])
    expect((await hub.app.inject({ method: 'DELETE', url: '/v1/users/vera', headers: bearer(admin) })).json().code).toBe('HUB_ERR_NOT_FOUND')
    await createUser(hub, admin, 'vera')
    expect((await auditActions(hub, admin)).find((e) => e.action === 'user.delete')).toMatchObject({ actor: 'user:admin', target: 'vera', details: { role: 'viewer' } })
  })

  it('refuses to disable or delete the last enabled admin', async () => {
    const hub = await build()
    const admin = await hub.login(hub.admin)
    for (const [method, url] of [['POST', '/v1/users/admin/disable'], ['DELETE', '/v1/users/admin']] as const) {
      const refused = await hub.app.inject({ method, url, headers: bearer(admin) })
      expect(refused.statusCode).toBe(409)
      expect(refused.json().code).toBe('HUB_ERR_LAST_ADMIN')
    }
    const second = await createUser(hub, admin, 'ada', 'admin')
    expect((await hub.app.inject({ method: 'POST', url: '/v1/users/admin/disable', headers: bearer(admin) })).statusCode).toBe(200)
    // The admin disabled itself: its token is gone; the other admin cannot now be removed.
    expect((await users(hub, admin)).statusCode).toBe(401)
    const ada = await hub.login(second)
    expect((await hub.app.inject({ method: 'DELETE', url: '/v1/users/ada', headers: bearer(ada) })).json().code).toBe('HUB_ERR_LAST_ADMIN')
  })
})

describe('/metrics access', () => {
  it('without metrics.token: loopback clients only', async () => {
    const hub = await build({ config: { http: { trustProxy: ['127.0.0.1'] } } })
    expect((await hub.app.inject('/metrics')).statusCode).toBe(200)
    const remote = await hub.app.inject({ url: '/metrics', headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(remote.statusCode).toBe(403)
    expect(remote.json().code).toBe('HUB_ERR_METRICS_LOOPBACK_ONLY')
  })

  it('with metrics.token: the bearer token is required, from anywhere', async () => {
    const token = 'scrape-token-0123456789abcdef'
    const hub = await build({ config: { metrics: { token } } })
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: token }]) {
      const refused = await hub.app.inject({ url: '/metrics', headers })
      expect(refused.statusCode).toBe(401)
      expect(refused.json().code).toBe('HUB_ERR_METRICS_TOKEN_REQUIRED')
      expect(refused.body).not.toContain('cloudos_hub_')
    }
    const ok = await hub.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toContain('cloudos_hub_http_requests_total')
    // An admin bearer token is not the metrics token.
    expect((await hub.app.inject({ url: '/metrics', headers: bearer(await hub.login(hub.admin)) })).statusCode).toBe(401)
  })
})
