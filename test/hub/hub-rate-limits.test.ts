import { describe, expect, it } from 'vitest'
import { encodePublicKey, generateDeviceKeyPair, signDeviceRequest } from '../../shared/device-auth/index.js'
import { ADMIN_PASSWORD, bearer, build, type TestHub } from './helper.js'
import { enrolDevice, goodFacts } from './device-helper.js'

const login = (hub: TestHub, body: Record<string, unknown>, headers: Record<string, string> = {}) => hub.app.inject({ method: 'POST', url: '/v1/auth/login', payload: body, headers })

function expectLimited(response: { statusCode: number; headers: Record<string, unknown>; json: () => any }, limit: string) {
  expect(response.statusCode).toBe(429)
  expect(response.json()).toMatchObject({ code: 'HUB_ERR_RATE_LIMITED', details: { limit } })
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
}

describe('hub rate limits', () => {
  it('limits signed requests per device, counted once the signature verifies: a coded 429 with Retry-After, counted', async () => {
    const hub = await build({ config: { rateLimits: { perDevice: 5 } } })
    const admin = await hub.login(hub.admin)
    const device = await enrolDevice(hub, admin)
    const other = await enrolDevice(hub, admin, { name: 'other' })
    // Forged requests naming the device (another key) are refused and do not use up its budget.
    const forger = generateDeviceKeyPair().privateKey
    for (let i = 0; i < 10; i++) {
      const headers = signDeviceRequest(forger, { deviceId: device.deviceId, method: 'GET', path: '/v1/devices/me', body: '', timestamp: hub.clock() })
      expect((await hub.app.inject({ url: '/v1/devices/me', headers })).json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')
    }
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await device.send('GET', '/v1/devices/me')).statusCode)
    expect(statuses).toEqual([200, 200, 200, 200, 200])
    expectLimited(await device.send('GET', '/v1/devices/me'), 'device')
    // Another device is not affected.
    expect((await other.send('GET', '/v1/devices/me')).statusCode).toBe(200)
    const metrics = (await hub.app.inject('/metrics')).body
    expect(metrics).toContain('cloudos_hub_rate_limited_total{limit="device"} 1')
  })

  it('limits device routes per source address before any check, bodies unread', async () => {
    const hub = await build({ config: { rateLimits: { perSource: 3 } } })
    for (let i = 0; i < 3; i++) expect((await hub.app.inject({ method: 'POST', url: '/v1/devices/me/heartbeat', payload: {} })).statusCode).toBe(401)
    const limited = await hub.app.inject({ method: 'POST', url: '/v1/devices/me/heartbeat', payload: {} })
    expectLimited(limited, 'device_source')
    // Admin routes are not device routes.
    expect((await hub.app.inject('/healthz')).statusCode).toBe(200)
  })

  it('limits enrolment per source address', async () => {
    const hub = await build({ config: { rateLimits: { enrolmentPerSource: 2 } } })
    const enrol = () => hub.app.inject({ method: 'POST', url: '/v1/devices/enroll', payload: { enrolmentToken: 'guess', publicKey: encodePublicKey(generateDeviceKeyPair().publicKey), facts: goodFacts } })
    expect((await enrol()).statusCode).toBe(401)
    expect((await enrol()).statusCode).toBe(401)
    expectLimited(await enrol(), 'enrolment_source')
    expect((await hub.app.inject('/metrics')).body).toContain('cloudos_hub_rate_limited_total{limit="enrolment_source"} 1')
  })

  it('limits failed logins per account across addresses; a right login is not counted', async () => {
    const hub = await build({ config: { http: { trustProxy: ['127.0.0.1'] }, auth: { loginRateLimitMax: 100, accountLoginFailuresMax: 3 } } })
    const token = await hub.login(hub.admin)
    const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'vera', password: 'viewer password 1' } })
    expect(created.statusCode).toBe(201)
    // A successful login does not use up the account's budget.
    await hub.login(hub.admin)
    for (let i = 0; i < 3; i++) expect((await login(hub, { username: 'admin', password: `guess ${i}`, totp: '123456' }, { 'x-forwarded-for': `203.0.113.${i}` })).statusCode).toBe(401)
    // From a fourth address, with the right credentials: the account is limited.
    hub.clock.advance(30_000)
    expectLimited(await login(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: await hub.totp(hub.admin.totpSecret) }, { 'x-forwarded-for': '198.51.100.7' }), 'login_account')
    // Case does not give a fresh bucket; another account is not affected.
    expectLimited(await login(hub, { username: 'ADMIN', password: 'x', totp: '123456' }), 'login_account')
    expect((await login(hub, { username: 'vera', password: 'wrong', totp: '123456' })).statusCode).toBe(401)
  })

  it('behind a TLS proxy with trustProxy set, each admin is limited by the real client address (X-Forwarded-For)', async () => {
    const hub = await build({ config: { http: { trustProxy: ['127.0.0.1'] }, auth: { loginRateLimitMax: 2, accountLoginFailuresMax: 100 } } })
    const alice = { 'x-forwarded-for': '198.51.100.10' }
    const bob = { 'x-forwarded-for': '198.51.100.20' }
    for (let i = 0; i < 2; i++) expect((await login(hub, { username: 'admin', password: 'x', totp: '123456' }, alice)).statusCode).toBe(401)
    expectLimited(await login(hub, { username: 'admin', password: 'x', totp: '123456' }, alice), 'login_client')
    // Another client behind the same proxy has its own bucket.
    hub.clock.advance(30_000)
    const ok = await login(hub, { username: 'admin', password: ADMIN_PASSWORD, totp: await hub.totp(hub.admin.totpSecret) }, bob)
    expect(ok.statusCode, ok.body).toBe(200)
  })

  it('without trustProxy (the default), X-Forwarded-For is ignored: a client cannot pick its own bucket', async () => {
    const hub = await build({ config: { auth: { loginRateLimitMax: 2 } } })
    for (let i = 0; i < 2; i++) expect((await login(hub, { username: 'admin', password: 'x', totp: '1' }, { 'x-forwarded-for': `192.0.2.${i}` })).statusCode).toBe(401)
    expectLimited(await login(hub, { username: 'admin', password: 'x', totp: '1' }, { 'x-forwarded-for': '192.0.2.99' }), 'login_client')
    expect((await hub.app.inject('/metrics')).body).toMatch(/cloudos_hub_logins_total\{outcome="rate_limited"\} 1/)
  })
})
