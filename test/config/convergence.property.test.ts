import * as fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EdgeReplica } from '../../bench/config/edge-replica.js'
import { HubConfigDocuments } from '../../cloud/config/hub-config-documents.js'
import { MemoryConfigRepository } from '../../cloud/config/memory-config-repository.js'
import type { DeviceId } from '../../cloud/devices/device-repository.js'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { documentValues, headsOf } from '../../shared/config-crdt/config-document.js'
import { effectiveConfig } from '../../shared/config-crdt/layers.js'

const KEYS = ['ingest.maxPayloadBytes', 'ingest.maxReadingsPerMessage', 'storage.retentionDays', 'hub.alertBatchSize'] as const
const EDGES = 3

type Step =
  | { kind: 'hubGroup'; key: number; value: number; unset: boolean }
  | { kind: 'hubDevice'; edge: number; key: number; value: number }
  | { kind: 'edgeEdit'; edge: number; key: number; value: number; unset: boolean }
  | { kind: 'cut' | 'heal' | 'sync'; edge: number }

const value = fc.integer({ min: 100, max: 400 })
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('hubGroup' as const), key: fc.nat(KEYS.length - 1), value, unset: fc.boolean() }),
  fc.record({ kind: fc.constant('hubDevice' as const), edge: fc.nat(EDGES - 1), key: fc.nat(KEYS.length - 1), value }),
  fc.record({ kind: fc.constant('edgeEdit' as const), edge: fc.nat(EDGES - 1), key: fc.nat(KEYS.length - 1), value, unset: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('cut' as const, 'heal' as const, 'sync' as const), edge: fc.nat(EDGES - 1) }),
)

/** One exchange of the real hub service with a replica (the wire format, base64 and all). */
async function exchange(hub: HubConfigDocuments, edge: EdgeReplica): Promise<boolean> {
  const request = edge.request()
  const response = await hub.sync({ id: edge.deviceId as DeviceId, group: 'g' }, request)
  edge.receive(response)
  return EdgeReplica.quiet(request) && response.messages.device === null && response.messages.group === null
}

describe('convergence under random edit and partition schedules (fast-check)', () => {
  it('every replica ends with the hub\'s heads and the same effective config, and no edit of a different key is lost', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(EDGES - 1), { minLength: EDGES, maxLength: EDGES }), async (steps, healOrder) => {
        const hub = new HubConfigDocuments({ repository: new MemoryConfigRepository(), schema: EdgeConfigSchema })
        const edges = Array.from({ length: EDGES }, (_, i) => new EdgeReplica(`dev-${i}`))
        const linked = edges.map(() => true)
        // Last write per (device document, key) by each side: a key only one side wrote must end with that side's value.
        const lastWrite = edges.map(() => ({ hub: new Map<string, unknown>(), edge: new Map<string, unknown>() }))
        for (const s of steps) {
          switch (s.kind) {
            case 'hubGroup':
              await hub.edit('group', 'g', s.unset ? { unset: [KEYS[s.key] as string] } : { set: { [KEYS[s.key] as string]: s.value } }, { user: 'user:op', origin: 'hub' })
              break
            case 'hubDevice':
              await hub.edit('device', `dev-${s.edge}`, { set: { [KEYS[s.key] as string]: s.value } }, { user: 'user:op', origin: 'hub' })
              lastWrite[s.edge]?.hub.set(KEYS[s.key] as string, s.value)
              break
            case 'edgeEdit':
              ;(edges[s.edge] as EdgeReplica).edit(EdgeConfigSchema, s.unset ? { unset: [KEYS[s.key] as string] } : { set: { [KEYS[s.key] as string]: s.value } })
              lastWrite[s.edge]?.edge.set(KEYS[s.key] as string, s.unset ? undefined : s.value)
              break
            case 'cut':
              if (linked[s.edge]) (edges[s.edge] as EdgeReplica).disconnect()
              linked[s.edge] = false
              break
            case 'heal':
              linked[s.edge] = true
              break
            case 'sync':
              if (linked[s.edge]) await exchange(hub, edges[s.edge] as EdgeReplica)
              break
          }
        }
        // Heal in the generated order and sync each until both sides are quiet.
        for (const i of [...healOrder, ...edges.keys()]) {
          linked[i] = true
          for (let round = 0; round < 30; round++) if (await exchange(hub, edges[i] as EdgeReplica)) break
        }
        // A second pass carries the group changes that arrived after an edge finished.
        for (const edge of edges) for (let round = 0; round < 30; round++) if (await exchange(hub, edge)) break
        const group = await hub.view('group', 'g')
        for (const edge of edges) {
          const device = await hub.view('device', edge.deviceId)
          expect(headsOf(edge.docs.device)).toEqual(device.heads)
          expect(headsOf(edge.docs.group)).toEqual(group.heads)
          const atEdge = effectiveConfig(EdgeConfigSchema, { group: documentValues(edge.docs.group).values, device: documentValues(edge.docs.device).values })
          const atHub = await hub.effective(edge.deviceId as DeviceId, 'g')
          expect(atEdge.ok && atEdge.config).toEqual(atHub.config)
          const values = documentValues(edge.docs.device).values
          const writes = lastWrite[edges.indexOf(edge)] as { hub: Map<string, unknown>; edge: Map<string, unknown> }
          for (const [key, v] of writes.edge) if (!writes.hub.has(key)) expect(values[key], `${edge.deviceId} ${key}`).toBe(v)
          for (const [key, v] of writes.hub) if (!writes.edge.has(key)) expect(values[key], `${edge.deviceId} ${key}`).toBe(v)
        }
      }),
      { numRuns: 40 },
    )
  }, 120_000)
})
