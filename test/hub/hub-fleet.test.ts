import { describe, expect, it } from 'vitest'
import { enrolDevice, health } from './device-helper.js'
import { bearer, build } from './helper.js'

const heartbeat = '/v1/devices/me/heartbeat'

async function fleetHub(config: unknown = {}) {
  const hub = await build({ config })
  const admin = await hub.login(hub.admin)
  const get = async (url: string) => {
    const response = await hub.app.inject({ url, headers: bearer(admin) })
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200)
    return response.json()
  }
  return { hub, admin, get }
}

describe('heartbeats', () => {
  it('answer the interval, record last seen and latest health, and bring a never-seen device online with an event', async () => {
    const { hub, admin, get } = await fleetHub({ fleet: { heartbeatIntervalSeconds: 15 } })
    const device = await enrolDevice(hub, admin)
    expect(await get(`/v1/devices/${device.deviceId}`)).toMatchObject({ fleetStatus: 'never-seen', health: null, lastHeartbeatAt: null })

    hub.clock.advance(1_000)
    const answer = await device.send('POST', heartbeat, health())
    expect(answer.statusCode, answer.body).toBe(200)
    expect(answer.json()).toEqual({ ok: true, heartbeatIntervalSeconds: 15 })
    const at = new Date(hub.clock()).toISOString()
    expect(await get(`/v1/devices/${device.deviceId}`)).toMatchObject({
      status: 'active',
      fleetStatus: 'online',
      lastSeenAt: at,
      lastHeartbeatAt: at,
      health: { at, ...health() },
    })
    const events = await get(`/v1/fleet/events?deviceId=${device.deviceId}`)
    expect(events.events.map((e: { kind: string }) => e.kind)).toEqual(['device.online', 'device.enrolled'])
  })

  it('refuse unknown keys, missing fields and bad values with HUB_ERR_INVALID_REQUEST, and unsigned or revoked senders', async () => {
    const { hub, admin } = await fleetHub()
    const device = await enrolDevice(hub, admin)
    const extra = await device.send('POST', heartbeat, { ...health(), temperature: 40 })
    expect(extra.statusCode).toBe(400)
    expect(extra.json()).toMatchObject({ code: 'HUB_ERR_INVALID_REQUEST', message: expect.stringContaining('additional properties') })
    const { queueDepth: _q, ...missing } = health()
    const noQueue = await device.send('POST', heartbeat, missing)
    expect(noQueue.statusCode).toBe(400)
    expect(noQueue.json().message).toContain('queueDepth')
    expect((await device.send('POST', heartbeat, health({ cpuPercent: 'high' }))).statusCode).toBe(400)
    expect((await device.send('POST', heartbeat, health({ memoryBytes: -1 }))).statusCode).toBe(400)
    const { versions: _v, ...noVersions } = health()
    expect((await device.send('POST', heartbeat, noVersions)).statusCode).toBe(200)

    const unsigned = await hub.app.inject({ method: 'POST', url: heartbeat, payload: health() })
    expect(unsigned.statusCode).toBe(401)
    expect(unsigned.json().code).toBe('HUB_ERR_DEVICE_UNAUTHENTICATED')

    expect((await hub.app.inject({ method: 'POST', url: `/v1/devices/${device.deviceId}/revoke`, headers: bearer(admin) })).statusCode).toBe(200)
    const revoked = await device.send('POST', heartbeat, health())
    expect(revoked.statusCode).toBe(403)
    expect(revoked.json().code).toBe('HUB_ERR_DEVICE_REVOKED')
  })

  it('keep a bounded health history, newest first', async () => {
    const { hub, admin, get } = await fleetHub({ fleet: { healthHistoryLength: 5 } })
    const device = await enrolDevice(hub, admin)
    for (let i = 1; i <= 8; i++) {
      hub.clock.advance(10_000)
      expect((await device.send('POST', heartbeat, health({ queueDepth: i }))).statusCode).toBe(200)
    }
    const history = await get(`/v1/devices/${device.deviceId}/health?limit=100`)
    expect(history.count).toBe(5)
    expect(history.history.map((h: { queueDepth: number }) => h.queueDepth)).toEqual([8, 7, 6, 5, 4])
    expect(history.history[0].at).toBe(new Date(hub.clock()).toISOString())
    expect((await get(`/v1/devices/${device.deviceId}/health?limit=2`)).count).toBe(2)
    const missing = await hub.app.inject({ url: '/v1/devices/dev-00000000-0000-0000-0000-000000000000/health', headers: bearer(admin) })
    expect(missing.statusCode).toBe(404)
  })

  it('commit concurrent heartbeats from many devices together (group commit), each answered', async () => {
    const { hub, admin, get } = await fleetHub()
    const devices = await Promise.all(Array.from({ length: 20 }, () => enrolDevice(hub, admin)))
    hub.clock.advance(1_000)
    const answers = await Promise.all(devices.map((d) => d.send('POST', heartbeat, health())))
    expect(answers.map((a) => a.statusCode)).toEqual(devices.map(() => 200))
    expect((await get('/v1/devices?status=online')).count).toBe(20)
  })
})

describe('offline detection', () => {
  it('marks a device offline after 3 missed heartbeats and online again on the next one, recording transitions and events', async () => {
    const { hub, admin, get } = await fleetHub()
    const device = await enrolDevice(hub, admin, { group: 'retail' })
    const quiet = await enrolDevice(hub, admin, { group: 'retail' })
    expect((await device.send('POST', heartbeat, health())).statusCode).toBe(200)

    // 30 s of silence is exactly 3 intervals: not yet offline.
    hub.clock.advance(30_000)
    expect(await hub.app.fleetLiveness.check()).toEqual([])
    hub.clock.advance(1)
    const marked = await hub.app.fleetLiveness.check()
    expect(marked).toEqual([{ deviceId: device.deviceId, at: hub.clock(), from: 'online', to: 'offline', reason: 'missed heartbeats' }])
    expect(await hub.app.fleetLiveness.check()).toEqual([])
    expect(await get(`/v1/devices/${device.deviceId}`)).toMatchObject({ status: 'active', fleetStatus: 'offline' })
    expect((await get('/v1/devices?status=offline')).devices.map((d: { id: string }) => d.id)).toEqual([device.deviceId])
    // A device that never sent a heartbeat stays never-seen.
    expect(await get(`/v1/devices/${quiet.deviceId}`)).toMatchObject({ fleetStatus: 'never-seen' })

    hub.clock.advance(60_000)
    expect((await device.send('POST', heartbeat, health())).statusCode).toBe(200)
    expect(await get(`/v1/devices/${device.deviceId}`)).toMatchObject({ fleetStatus: 'online' })

    const history = await get(`/v1/devices/${device.deviceId}/health`)
    expect(history.transitions.map((t: { from: string; to: string }) => `${t.from}->${t.to}`)).toEqual(['offline->online', 'online->offline', 'never-seen->online'])
    const events = await get(`/v1/fleet/events?deviceId=${device.deviceId}`)
    expect(events.events.map((e: { kind: string }) => e.kind)).toEqual(['device.online', 'device.offline', 'device.online', 'device.enrolled'])
    expect(events.events[1].details).toMatchObject({ silentForMs: 30_001 })
    const offlineOnly = await get('/v1/fleet/events?kind=device.offline')
    expect(offlineOnly.events).toHaveLength(1)
    expect((await get('/v1/fleet/events?limit=1')).events).toHaveLength(1)

    const metrics = await hub.app.inject('/metrics')
    expect(metrics.body).toMatch(/cloudos_hub_fleet_transitions_total\{to="offline"\} 1/)
  })

  it('runs the check on a timer while the app is ready (livenessCheckSeconds)', async () => {
    const hub = await build({ config: { fleet: { heartbeatIntervalSeconds: 1, offlineAfterMissedHeartbeats: 1, livenessCheckSeconds: 1 } }, livenessTimer: true })
    const admin = await hub.login(hub.admin)
    const device = await enrolDevice(hub, admin)
    expect((await device.send('POST', heartbeat, health())).statusCode).toBe(200)
    hub.clock.advance(1_001)
    // The timer fires within a second of real time; it reads the test clock.
    const deadline = Date.now() + 5_000
    let fleetStatus = 'online'
    while (fleetStatus === 'online' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      fleetStatus = (await hub.app.inject({ url: `/v1/devices/${device.deviceId}`, headers: bearer(admin) })).json().fleetStatus
    }
    expect(fleetStatus).toBe('offline')
  })

  it('follows the configured interval and missed-heartbeat count', async () => {
    const { hub, admin } = await fleetHub({ fleet: { heartbeatIntervalSeconds: 2, offlineAfterMissedHeartbeats: 5 } })
    const device = await enrolDevice(hub, admin)
    expect((await device.send('POST', heartbeat, health())).json()).toEqual({ ok: true, heartbeatIntervalSeconds: 2 })
    hub.clock.advance(10_000)
    expect(await hub.app.fleetLiveness.check()).toEqual([])
    hub.clock.advance(1)
    expect(await hub.app.fleetLiveness.check()).toHaveLength(1)
  })
})

describe('fleet views', () => {
  it('filter devices by status, group, tier and label, with paging, and count groups by status', async () => {
    const { hub, admin, get } = await fleetHub()
    // Listed oldest enrolment first: one millisecond apart for a stable order.
    const enrolLater = (group: string, tier: 'edge' | 'lite') => {
      hub.clock.advance(1)
      return enrolDevice(hub, admin, { group, tier })
    }
    const a = await enrolLater('alpha', 'edge')
    const b = await enrolLater('alpha', 'lite')
    const c = await enrolLater('beta', 'edge')
    await enrolLater('beta', 'lite')
    expect((await a.send('POST', heartbeat, health())).statusCode).toBe(200)
    expect((await b.send('POST', heartbeat, health())).statusCode).toBe(200)
    hub.clock.advance(31_000)
    expect((await b.send('POST', heartbeat, health())).statusCode).toBe(200)
    await hub.app.fleetLiveness.check()
    expect((await hub.app.inject({ method: 'POST', url: `/v1/devices/${c.deviceId}/revoke`, headers: bearer(admin) })).statusCode).toBe(200)

    const ids = async (query: string) => ((await get(`/v1/devices?${query}`)).devices as { id: string }[]).map((d) => d.id)
    expect(await ids('status=online')).toEqual([b.deviceId])
    expect(await ids('status=offline')).toEqual([a.deviceId])
    expect(await ids('status=revoked')).toEqual([c.deviceId])
    expect(await ids('status=never-seen&group=beta')).toHaveLength(1)
    expect(await ids('status=active&group=alpha')).toEqual([a.deviceId, b.deviceId])
    expect(await ids('tier=lite&group=alpha')).toEqual([b.deviceId])
    expect(await ids('limit=2&offset=1')).toEqual([b.deviceId, c.deviceId])
    expect(await ids('label=site')).toEqual([])
    const bad = await hub.app.inject({ url: '/v1/devices?status=sleeping', headers: bearer(admin) })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('HUB_ERR_INVALID_REQUEST')

    expect(await get('/v1/groups')).toEqual({
      groups: [
        { group: 'alpha', total: 2, counts: { online: 1, offline: 1, revoked: 0, 'never-seen': 0 } },
        { group: 'beta', total: 2, counts: { online: 0, offline: 0, revoked: 1, 'never-seen': 1 } },
      ],
    })
    const revokedEvents = await get('/v1/fleet/events?kind=device.revoked')
    expect(revokedEvents.events).toMatchObject([{ kind: 'device.revoked', deviceId: c.deviceId }])
  })

  it('are read-only views: no token is refused', async () => {
    const { hub } = await fleetHub()
    for (const url of ['/v1/groups', '/v1/fleet/events', '/v1/devices/dev-00000000-0000-0000-0000-000000000000/health']) {
      const response = await hub.app.inject(url)
      expect(response.statusCode, url).toBe(401)
    }
  })
})
