import { describe, expect, it } from 'vitest'
import { enrolDevice } from './device-helper.js'
import { bearer, build, secretOf } from './helper.js'

const alertsPath = '/v1/devices/me/alerts'

const alert = (seq: number, overrides: Record<string, unknown> = {}) => ({
  seq,
  raisedAt: Date.UTC(2026, 10, 26, 11, 0, seq),
  sensorId: 'turbine-7',
  metric: 'vibration',
  severity: 'warning',
  rule: 'zscore>4',
  value: 12.5,
  message: `vibration high (${seq})`,
  ...overrides,
})

async function alertHub() {
  const hub = await build()
  const admin = await hub.login(hub.admin)
  const device = await enrolDevice(hub, admin)
  const get = async (url: string, token = admin) => {
    const response = await hub.app.inject({ url, headers: bearer(token) })
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200)
    return response.json()
  }
  return { hub, admin, device, get }
}

describe('alerts from devices', () => {
  it('are stored once per (device, seq): a resent batch counts duplicates and reports the last seq', async () => {
    const { device, get } = await alertHub()
    const first = await device.send('POST', alertsPath, { alerts: [alert(1), alert(2, { severity: 'critical', value: null })] })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toEqual({ accepted: 2, duplicates: 0, lastSeq: 2 })
    // The edge resends after a lost answer, with one new alert.
    const again = await device.send('POST', alertsPath, { alerts: [alert(1), alert(2, { severity: 'critical', value: null }), alert(3, { severity: 'info' })] })
    expect(again.json()).toEqual({ accepted: 1, duplicates: 2, lastSeq: 3 })
    const listed = await get(`/v1/alerts?deviceId=${device.deviceId}`)
    expect(listed.count).toBe(3)
    expect(listed.alerts.map((a: { seq: number }) => a.seq)).toEqual([3, 2, 1])
    expect(listed.alerts[1]).toMatchObject({ deviceId: device.deviceId, seq: 2, severity: 'critical', value: null, acknowledged: false, acknowledgedBy: null, raisedAt: new Date(alert(2).raisedAt).toISOString() })
    expect((await get('/v1/alerts?severity=critical')).alerts.map((a: { seq: number }) => a.seq)).toEqual([2])
    const from = alert(2).raisedAt
    expect((await get(`/v1/alerts?from=${from}&to=${from + 1}`)).alerts.map((a: { seq: number }) => a.seq)).toEqual([2])
    expect((await get('/v1/alerts?limit=1')).count).toBe(1)
  })

  it('refuse an invalid batch as a whole: nothing stored', async () => {
    const { device, get } = await alertHub()
    const bad = await device.send('POST', alertsPath, { alerts: [alert(1), alert(2, { severity: 'fatal' })] })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('HUB_ERR_INVALID_REQUEST')
    expect((await device.send('POST', alertsPath, { alerts: [] })).statusCode).toBe(400)
    expect((await device.send('POST', alertsPath, { alerts: Array.from({ length: 501 }, (_, i) => alert(i)) })).statusCode).toBe(400)
    expect((await device.send('POST', alertsPath, { alerts: [{ ...alert(1), extra: true }] })).statusCode).toBe(400)
    expect((await device.send('POST', alertsPath, { alerts: [alert(1.5)] })).statusCode).toBe(400)
    expect((await get('/v1/alerts')).count).toBe(0)
    const unsigned = await (await alertHub()).hub.app.inject({ method: 'POST', url: alertsPath, payload: { alerts: [alert(1)] } })
    expect(unsigned.statusCode).toBe(401)
    expect((await device.send('POST', alertsPath, { alerts: Array.from({ length: 500 }, (_, i) => alert(i)) })).json()).toEqual({ accepted: 500, duplicates: 0, lastSeq: 499 })
  })
})

describe('acknowledging alerts', () => {
  it('records who and when, audited; admins only; a second acknowledgement is refused', async () => {
    const { hub, admin, device, get } = await alertHub()
    await device.send('POST', alertsPath, { alerts: [alert(1), alert(2)] })
    const [newest] = (await get('/v1/alerts')).alerts as { id: number; seq: number }[]
    const id = newest?.id as number

    const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(admin), payload: { username: 'vera', password: 'viewer password 1' } })
    const viewer = await hub.login({ username: 'vera', password: 'viewer password 1', totpSecret: secretOf((created.json() as { otpauthUri: string }).otpauthUri) })
    expect((await get('/v1/alerts', viewer)).count).toBe(2)
    const refused = await hub.app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(viewer) })
    expect(refused.statusCode).toBe(403)
    expect((await hub.app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack` })).statusCode).toBe(401)

    hub.clock.advance(5_000)
    const acked = await hub.app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(admin) })
    expect(acked.statusCode, acked.body).toBe(200)
    expect(acked.json()).toMatchObject({ id, acknowledged: true, acknowledgedBy: 'user:admin', acknowledgedAt: new Date(hub.clock()).toISOString() })
    const twice = await hub.app.inject({ method: 'POST', url: `/v1/alerts/${id}/ack`, headers: bearer(admin) })
    expect(twice.statusCode).toBe(409)
    expect(twice.json()).toMatchObject({ code: 'HUB_ERR_ALERT_ALREADY_ACKNOWLEDGED', details: { acknowledgedBy: 'user:admin' } })
    const missing = await hub.app.inject({ method: 'POST', url: '/v1/alerts/999999/ack', headers: bearer(admin) })
    expect(missing.statusCode).toBe(404)

    expect((await get('/v1/alerts?acknowledged=true')).alerts.map((a: { id: number }) => a.id)).toEqual([id])
    expect((await get('/v1/alerts?acknowledged=false')).alerts.map((a: { seq: number }) => a.seq)).toEqual([1])
    const audit = (await get('/v1/audit?limit=1000')).entries as { action: string; actor: string; target: string; details: Record<string, unknown> }[]
    expect(audit.filter((e) => e.action === 'alert.acknowledge')).toEqual([
      expect.objectContaining({ actor: 'user:admin', target: String(id), details: expect.objectContaining({ deviceId: device.deviceId, seq: newest?.seq }) }),
    ])
    expect(await get('/v1/audit/verify')).toMatchObject({ ok: true })
  })
})
