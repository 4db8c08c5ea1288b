import * as Automerge from '@automerge/automerge'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { applyEdit, documentValues, headsOf, newConfigDoc, type ConfigDoc } from '../../shared/config-crdt/config-document.js'
import { HubConfigDocuments } from '../../cloud/config/hub-config-documents.js'
import { MemoryConfigRepository } from '../../cloud/config/memory-config-repository.js'
import type { DeviceId } from '../../cloud/devices/device-repository.js'
import { EdgeReplica } from './edge-replica.js'

/** Keys the technicians edit on site, keys the operators edit at the hub, and one both edit (a same-key conflict). */
const EDGE_KEYS = ['ingest.maxReadingsPerMessage', 'ingest.maxFutureSkewMs', 'storage.retentionDays']
const HUB_KEYS = ['storage.maxBytes', 'storage.deadLetterMaxRows', 'ingest.maxPastAgeMs']
const SHARED_KEY = 'hub.alertBatchSize'
/** Each key's values start here, inside its schema range. */
const BASE: Record<string, number> = {
  'ingest.maxReadingsPerMessage': 100,
  'ingest.maxFutureSkewMs': 1000,
  'storage.retentionDays': 1,
  'storage.maxBytes': 2 * 1024 * 1024,
  'storage.deadLetterMaxRows': 100,
  'ingest.maxPastAgeMs': 86_400_000,
  'hub.alertBatchSize': 0,
}

export interface PartitionSettings {
  devices: number
  /** Concurrent edits per device during the partition: half on site, half at the hub. */
  editsPerDevice: number
  groupEdits: number
}

export interface PartitionResult {
  devices: number
  edits: number
  convergeSeconds: number
  /** Sync message bytes (both directions) after the heal, per edit made during the partition. */
  bytesPerEdit: number
  totalBytes: number
  exchanges: number
  /** Edits whose value is not in the final documents although no one else wrote that key. */
  editsLost: number
  allConverged: boolean
  hubHeapBytes: number
}

export interface LwwResult {
  bytesPerEdit: number
  totalBytes: number
  editsLost: number
}

interface Edit {
  key: string
  value: number
}

/** The edits one side makes during the partition: mostly its own keys, every 10th on the shared key. */
function editsFor(side: 'edge' | 'hub', count: number): Edit[] {
  const keys = side === 'edge' ? EDGE_KEYS : HUB_KEYS
  return Array.from({ length: count }, (_, i) => {
    const key = i % 10 === 9 ? SHARED_KEY : (keys[i % keys.length] as string)
    return { key, value: (BASE[key] ?? 0) + (side === 'edge' ? 10 : 20) + (i % 400) + 1 }
  })
}

/** The value each key last got from each side, for counting lost edits. */
function lastWrites(edits: Edit[]): Map<string, number> {
  return new Map(edits.map((e) => [e.key, e.value]))
}

function lost(final: Record<string, unknown>, mine: Map<string, number>, theirs: Map<string, number>): number {
  let count = 0
  for (const [key, value] of mine) if (!theirs.has(key) && final[key] !== value) count++
  return count
}

/**
 * 1,000 devices (by default), each with `editsPerDevice` concurrent edits
 * during a partition (half made on site to its device document, half at the
 * hub to the same document), plus group edits at the hub; then every link
 * heals at once and each replica runs the real sync exchange against the
 * real hub service (HubConfigDocuments, in memory) until both sides are
 * quiet. The edits are made once, as Automerge changes, and loaded into every
 * device's replicas (the same changes in different documents: actor ids need
 * only be unique within a document); what is timed, the sync, processes
 * every one of them for every device.
 */
export async function runPartitionScenario(settings: PartitionSettings): Promise<PartitionResult> {
  const schema = EdgeConfigSchema
  const half = Math.floor(settings.editsPerDevice / 2)
  const edgeEdits = editsFor('edge', settings.editsPerDevice - half)
  const hubEdits = editsFor('hub', half)
  const base = newConfigDoc()
  let edgeDoc: Automerge.Doc<ConfigDoc> = Automerge.clone(base, { actor: 'ed'.repeat(16) })
  let hubDoc: Automerge.Doc<ConfigDoc> = Automerge.clone(base, { actor: 'ab'.repeat(16) })
  const start = Date.now() - 3_600_000
  edgeEdits.forEach((e, i) => (edgeDoc = applyEdit(edgeDoc, schema, { set: { [e.key]: e.value } }, { user: 'technician', origin: 'edge:site' }, start + i * 1000)))
  hubEdits.forEach((e, i) => (hubDoc = applyEdit(hubDoc, schema, { set: { [e.key]: e.value } }, { user: 'user:operator', origin: 'hub' }, start + i * 1000 + 500)))
  const edgeBytes = Automerge.save(edgeDoc)
  const hubBytes = Automerge.save(hubDoc)

  const repository = new MemoryConfigRepository()
  const heapBefore = process.memoryUsage().heapUsed
  const hub = new HubConfigDocuments({ repository, schema })
  let group = newConfigDoc('cc'.repeat(16))
  for (let i = 0; i < settings.groupEdits; i++) group = applyEdit(group, schema, { set: { 'ingest.maxPayloadBytes': 4096 + i } }, { user: 'user:operator', origin: 'hub' }, start + i)
  await repository.saveDocument({ docId: 'group:fleet', kind: 'group', name: 'fleet', bytes: Automerge.save(group), heads: headsOf(group), updatedAt: start })

  const replicas: EdgeReplica[] = []
  for (let d = 0; d < settings.devices; d++) {
    const deviceId = `dev-${String(d).padStart(6, '0')}`
    await repository.saveDocument({ docId: `device:${deviceId}`, kind: 'device', name: deviceId, bytes: hubBytes, heads: headsOf(hubDoc), updatedAt: start })
    const replica = new EdgeReplica(deviceId)
    replica.docs.device = Automerge.load<ConfigDoc>(edgeBytes)
    replicas.push(replica)
  }

  let exchanges = 0
  const began = performance.now()
  await Promise.all(
    replicas.map(async (replica) => {
      for (let round = 0; round < 50; round++) {
        const request = replica.request()
        const response = await hub.sync({ id: replica.deviceId as DeviceId, group: 'fleet' }, request)
        exchanges++
        replica.receive(response)
        if (EdgeReplica.quiet(request) && response.messages.device === null && response.messages.group === null) return
      }
    }),
  )
  const convergeSeconds = (performance.now() - began) / 1000
  const hubHeapBytes = process.memoryUsage().heapUsed - heapBefore

  let allConverged = true
  let editsLost = 0
  const edgeLast = lastWrites(edgeEdits)
  const hubLast = lastWrites(hubEdits)
  const groupView = await hub.view('group', 'fleet')
  let totalBytes = 0
  for (const replica of replicas) {
    const view = await hub.view('device', replica.deviceId)
    if (JSON.stringify(headsOf(replica.docs.device)) !== JSON.stringify(view.heads) || JSON.stringify(headsOf(replica.docs.group)) !== JSON.stringify(groupView.heads)) allConverged = false
    const final = documentValues(replica.docs.device).values
    editsLost += lost(final, edgeLast, hubLast) + lost(final, hubLast, edgeLast)
    totalBytes += replica.bytesSent + replica.bytesReceived
  }
  const edits = settings.devices * settings.editsPerDevice + settings.groupEdits
  return { devices: settings.devices, edits, convergeSeconds, bytesPerEdit: totalBytes / edits, totalBytes, exchanges, editsLost, allConverged, hubHeapBytes }
}

/**
 * What Greengrass-style shadows or a plain JSON config file do: each side
 * keeps the whole JSON document with the time of its last edit; at the heal
 * the edge sends its document, the newer whole document wins and is sent
 * back. Same edits as the CRDT run.
 */
export function runLastWriterWins(settings: PartitionSettings): LwwResult {
  const half = Math.floor(settings.editsPerDevice / 2)
  const edgeEdits = editsFor('edge', settings.editsPerDevice - half)
  const hubEdits = editsFor('hub', half)
  const start = Date.now() - 3_600_000
  const edgeDoc: Record<string, unknown> = {}
  const hubDoc: Record<string, unknown> = {}
  for (const e of edgeEdits) edgeDoc[e.key] = e.value
  for (const e of hubEdits) hubDoc[e.key] = e.value
  const edgeTime = start + (edgeEdits.length - 1) * 1000
  const hubTime = start + (hubEdits.length - 1) * 1000 + 500
  let totalBytes = 0
  let editsLost = 0
  for (let d = 0; d < settings.devices; d++) {
    // The edge sends its whole document and its time; the hub answers with the winner.
    const sent = JSON.stringify({ deviceId: `dev-${d}`, updatedAt: edgeTime, config: edgeDoc })
    const winner = hubTime >= edgeTime ? hubDoc : edgeDoc
    const back = JSON.stringify({ updatedAt: Math.max(hubTime, edgeTime), config: winner })
    totalBytes += sent.length + back.length
    editsLost += lost(winner, lastWrites(edgeEdits), lastWrites(hubEdits)) + lost(winner, lastWrites(hubEdits), lastWrites(edgeEdits))
  }
  const edits = settings.devices * settings.editsPerDevice
  return { bytesPerEdit: totalBytes / edits, totalBytes, editsLost }
}
