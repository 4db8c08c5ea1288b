import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { startTestEdge } from '../harness/in-process-edge.js'
import { waitFor } from '../helpers/wait.js'
import { startFleet } from '../harness/fleet.js'

const patch = async (edge: { endpoints: { httpUrl: string }; authHeaders: { authorization: string } }, body: unknown) => {
  const response = await fetch(`${edge.endpoints.httpUrl}/v1/config`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...edge.authHeaders }, body: JSON.stringify(body) })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

describe('config on a stand-alone edge (local API, SQLite replicas)', () => {
  it('refuses bad edits with a code, applies live keys at once, keeps restart keys pending until the next start', async () => {
    const edge = await startTestEdge()
    let restarted: Awaited<ReturnType<typeof startTestEdge>> | undefined
    try {
      const url = edge.endpoints.httpUrl
      expect((await patch(edge, { set: { 'ingest.maxPayload': 10 } })).body.code).toBe('CONFIG_ERR_UNKNOWN_KEY')
      expect((await patch(edge, { set: { 'ingest.maxPayloadBytes': 'big' } })).body.code).toBe('CONFIG_ERR_INVALID_VALUE')
      expect((await patch(edge, { set: { 'storage.retentionSchedule': 'sometimes' } })).body.code).toBe('CONFIG_ERR_INVALID_VALUE')
      expect(edge.runtime.configAgent.history('device')).toHaveLength(0)

      // A restart key (storage.synchronous; listener ports are device-local: file only).
      const ok = await patch(edge, { set: { 'ingest.maxPayloadBytes': 1024, 'storage.synchronous': 'normal' }, user: 'alice' })
      expect(ok.status, JSON.stringify(ok.body)).toBe(200)
      expect(edge.runtime.config.ingest.maxPayloadBytes).toBe(1024)
      expect(ok.body.pendingRestart).toEqual(['storage.synchronous'])
      const counters = (await (await fetch(`${url}/v1/stats`)).json()) as Record<string, any>
      expect(JSON.stringify(counters)).toContain('config_refused.CONFIG_ERR_UNKNOWN_KEY')

      const history = (await (await fetch(`${url}/v1/config/history`)).json()) as { changes: { user: string; origin: string }[] }
      expect(history.changes[0]).toMatchObject({ user: 'alice', origin: 'edge:local' })

      // Restart on the same data dir: the device document is kept, and the restart key takes effect.
      await edge.stop({ keepDataDir: true })
      restarted = await startTestEdge({ dataDir: edge.dataDir })
      expect(restarted.runtime.config.storage.synchronous).toBe('normal')
      expect(restarted.runtime.config.ingest.maxPayloadBytes).toBe(1024)
      const after = (await (await fetch(`${restarted.endpoints.httpUrl}/v1/config`)).json()) as Record<string, any>
      expect(after.pendingRestart).toEqual([])
      expect(after.layers.device).toEqual({ 'ingest.maxPayloadBytes': 1024, 'storage.synchronous': 'normal' })
    } finally {
      await restarted?.stop()
      await edge.stop()
    }
  }, 30_000)
})

describe('an invalid merged config (a hub whose schema knows a key this edge does not)', () => {
  it('is not applied: the edge keeps its last good config, shows and reports the errors; fixing the document applies again', async () => {
    const NewerSchema = Type.Object({ ...EdgeConfigSchema.properties, future: Type.Object({ knob: Type.Integer({ default: 1 }) }, { additionalProperties: false, default: {} }) }, { additionalProperties: false, default: {} })
    const fleet = await startFleet(1, { configSchema: NewerSchema })
    try {
      const edge = fleet.edges[0]!
      await waitFor(async () => (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin.inSync, { what: 'first sync' })
      expect((await fleet.hubEdit('/v1/config/groups/plant', { set: { 'ingest.maxPayloadBytes': 2048 } })).status).toBe(200)
      await waitFor(() => edge.runtime.config.ingest.maxPayloadBytes === 2048, { what: 'the first change' })
      expect((await fleet.hubEdit('/v1/config/groups/plant', { set: { 'future.knob': 5, 'ingest.maxPayloadBytes': 4096 } })).status).toBe(200)

      const local = await waitFor(async () => {
        const c = await edge.config()
        return c.status === 'rejected' ? c : undefined
      }, { what: 'the edge to reject the merged config' })
      expect(local.errors).toEqual([expect.objectContaining({ key: 'future.knob', code: 'CONFIG_ERR_UNKNOWN_KEY', layer: 'group' })])
      // The last good config stays in effect: not even the valid key of the same change is applied.
      expect(edge.runtime.config.ingest.maxPayloadBytes).toBe(2048)
      const twin = await waitFor(async () => {
        const t = (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin
        return t.errors.length > 0 ? t : undefined
      }, { what: 'the errors to reach the hub' })
      expect(twin.inSync).toBe(false)
      expect(twin.errors[0]).toMatchObject({ key: 'future.knob', code: 'CONFIG_ERR_UNKNOWN_KEY' })

      expect((await fleet.hubEdit('/v1/config/groups/plant', { unset: ['future.knob'] })).status).toBe(200)
      await waitFor(() => edge.runtime.config.ingest.maxPayloadBytes === 4096, { what: 'the fixed config to apply' })
      await waitFor(async () => (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin.inSync, { what: 'in sync again' })
      expect((await edge.config()).errors).toEqual([])
    } finally {
      await fleet.dispose()
    }
  }, 60_000)
})
