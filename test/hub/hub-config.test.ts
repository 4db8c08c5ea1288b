import * as Automerge from '@automerge/automerge'
import { describe, expect, it } from 'vitest'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { applyEdit, newConfigDoc } from '../../shared/config-crdt/config-document.js'
import { toBase64 } from '../../shared/config-crdt/sync-protocol.js'
import { EdgeReplica } from '../../bench/config/edge-replica.js'
import { enrolDevice } from './device-helper.js'
import { bearer, build } from './helper.js'

const SYNC = '/v1/devices/me/config/sync'

type Send = (body: unknown) => Promise<{ statusCode: number; json: () => any; body: string }>

/** Runs sync exchanges until the hub refuses one (or 10 rounds pass). */
async function syncUntilRefused(replica: EdgeReplica, send: Send) {
  for (let round = 0; round < 10; round++) {
    const answer = await send(replica.request())
    if (answer.statusCode !== 200) return answer
    replica.receive(answer.json())
  }
  throw new Error('the hub accepted every exchange')
}

describe('hub config routes', () => {
  it('edits group and device documents with schema checks, audits them, shows history and the effective config', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const device = await enrolDevice(hub, token, { group: 'plant' })
    const patch = (url: string, payload: unknown) => hub.app.inject({ method: 'PATCH', url, headers: bearer(token), payload: payload as Record<string, unknown> })

    const group = await patch('/v1/config/groups/plant', { set: { 'ingest.maxPayloadBytes': 2048, storage: { retentionDays: 7 } } })
    expect(group.statusCode, group.body).toBe(200)
    expect(group.json().values).toEqual({ 'ingest.maxPayloadBytes': 2048, 'storage.retentionDays': 7 })
    expect((await patch(`/v1/config/devices/${device.deviceId}`, { set: { 'storage.retentionDays': 3 } })).statusCode).toBe(200)

    const effective = await hub.app.inject({ url: `/v1/config/devices/${device.deviceId}?effective=1`, headers: bearer(token) })
    expect(effective.json().effective.ingest.maxPayloadBytes).toBe(2048)
    expect(effective.json().effective.storage.retentionDays).toBe(3)
    expect(effective.json().sources['storage.retentionDays']).toBe('device')
    expect(effective.json().twin.inSync).toBe(false)

    // Refused edits: a code, and nothing changed.
    const unknown = await patch('/v1/config/groups/plant', { set: { 'ingest.maxPayload': 1 } })
    expect([unknown.statusCode, unknown.json().code]).toEqual([400, 'CONFIG_ERR_UNKNOWN_KEY'])
    const wrongType = await patch('/v1/config/groups/plant', { set: { 'ingest.maxPayloadBytes': 'big' } })
    expect([wrongType.statusCode, wrongType.json().code]).toEqual([400, 'CONFIG_ERR_INVALID_VALUE'])
    const badCron = await patch('/v1/config/groups/plant', { set: { 'storage.retentionSchedule': 'every minute' } })
    expect([badCron.statusCode, badCron.json().code]).toEqual([400, 'CONFIG_ERR_INVALID_VALUE'])
    const empty = await patch('/v1/config/groups/plant', {})
    expect(empty.json().code).toBe('CONFIG_ERR_EMPTY_EDIT')
    const after = await hub.app.inject({ url: '/v1/config/groups/plant', headers: bearer(token) })
    expect(after.json().heads).toEqual(group.json().heads)

    const history = await hub.app.inject({ url: '/v1/config/groups/plant/history', headers: bearer(token) })
    expect(history.json().changes).toHaveLength(1)
    expect(history.json().changes[0]).toMatchObject({ user: 'user:admin', origin: 'hub', set: { 'ingest.maxPayloadBytes': 2048, 'storage.retentionDays': 7 } })
    const audit = await hub.app.inject({ url: '/v1/audit?limit=100', headers: bearer(token) })
    expect(JSON.stringify(audit.json())).toContain('config.edit')
  })

  it('refuses malformed sync messages, changes to the group document, and invalid values from a device; counts them; keeps the documents', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const device = await enrolDevice(hub, token, { group: 'plant' })
    const other = await enrolDevice(hub, token, { group: 'plant' })
    await hub.app.inject({ method: 'PATCH', url: '/v1/config/groups/plant', headers: bearer(token), payload: { set: { 'ingest.maxPayloadBytes': 2048 } } })
    const before = (await hub.app.inject({ url: '/v1/config/groups/plant', headers: bearer(token) })).json().heads
    const session = 'session-0001'

    const garbage = await device.send('POST', SYNC, { session, messages: { device: 'bm90IGEgc3luYyBtZXNzYWdl' } })
    expect([garbage.statusCode, garbage.json().code]).toEqual([400, 'CONFIG_ERR_SYNC_MESSAGE_MALFORMED'])
    const notBase64 = await device.send('POST', SYNC, { session, messages: { group: '***' } })
    expect(notBase64.json().code).toBe('CONFIG_ERR_SYNC_MESSAGE_MALFORMED')

    // A device writing to its group's document: the exchange goes on until its changes arrive, then is refused.
    const forger = new EdgeReplica(device.deviceId)
    forger.docs.group = applyEdit(newConfigDoc(), EdgeConfigSchema, { set: { 'ingest.maxPayloadBytes': 999_999 } }, { user: 'x', origin: 'edge:x' })
    const refused = await syncUntilRefused(forger, (body) => device.send('POST', SYNC, body))
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'CONFIG_ERR_FORBIDDEN_DOC'])
    expect((await hub.app.inject({ url: '/v1/config/groups/plant', headers: bearer(token) })).json().heads).toEqual(before)

    // A device document change with a value of the wrong type, made raw (the edge itself would refuse to make it).
    const liar = new EdgeReplica(other.deviceId)
    liar.docs.device = Automerge.change(liar.docs.device, (d) => {
      d['ingest.maxPayloadBytes'] = new Automerge.ImmutableString('"big"')
    })
    const invalid = await syncUntilRefused(liar, (body) => other.send('POST', SYNC, body))
    expect([invalid.statusCode, invalid.json().code]).toEqual([400, 'CONFIG_ERR_INVALID_VALUE'])
    expect((await hub.app.inject({ url: `/v1/config/devices/${other.deviceId}`, headers: bearer(token) })).json().values).toEqual({})

    const metrics = await hub.app.inject({ url: '/metrics' })
    expect(metrics.body).toMatch(/cloudos_hub_config_refused_total\{code="CONFIG_ERR_SYNC_MESSAGE_MALFORMED"\} 2/)
    expect(metrics.body).toMatch(/cloudos_hub_config_refused_total\{code="CONFIG_ERR_FORBIDDEN_DOC"\} 1/)
  })

  it('answers a quiet long-poll as soon as an operator edits a document of the device', async () => {
    const hub = await build()
    const token = await hub.login(hub.admin)
    const device = await enrolDevice(hub, token, { group: 'plant' })
    const session = 'session-0002'
    const [, hello] = Automerge.generateSyncMessage(newConfigDoc(), Automerge.initSyncState())
    const first = await device.send('POST', SYNC, { session, messages: { device: toBase64(hello as Uint8Array), group: toBase64(hello as Uint8Array) } })
    expect(first.statusCode, first.body).toBe(200)
    const polling = device.send('POST', SYNC, { session, messages: {}, waitMs: 20_000 })
    let answered = false
    void polling.then(() => (answered = true))
    await new Promise((r) => setTimeout(r, 200))
    expect(answered).toBe(false)
    await hub.app.inject({ method: 'PATCH', url: '/v1/config/groups/plant', headers: bearer(token), payload: { set: { 'ingest.maxPayloadBytes': 4096 } } })
    const answer = await polling
    expect(answer.statusCode).toBe(200)
    expect(answer.json().messages.group).not.toBeNull()
  })
})
