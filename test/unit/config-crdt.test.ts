import * as Automerge from '@automerge/automerge'
import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { applyModeOf } from '../../shared/config-crdt/apply-modes.js'
import { applyEdit, documentHistory, documentValues, headsOf, newConfigDoc } from '../../shared/config-crdt/config-document.js'
import { checkAssignment, parseAssignmentText, resolveKey } from '../../shared/config-crdt/config-keys.js'
import { effectiveConfig } from '../../shared/config-crdt/layers.js'
import { decodeSyncMessageText, receiveSync } from '../../shared/config-crdt/sync-protocol.js'
import { CloudosError } from '../../shared/errors.js'

// A schema with a section another branch might add: rules keyed by name.
const Schema = Type.Object(
  {
    ingest: EdgeConfigSchema.properties.ingest,
    rules: Type.Record(Type.String(), Type.Object({ max: Type.Number(), min: Type.Optional(Type.Number()) }, { additionalProperties: false }), { default: {} }),
  },
  { additionalProperties: false, default: {} },
)

const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return (err as CloudosError).code
  }
  return 'no error'
}

describe('config keys (generic over the TypeBox schema)', () => {
  it('resolves object properties and record entries, and refuses unknown keys with the allowed ones', () => {
    expect(resolveKey(Schema, 'ingest.maxPayloadBytes').isObject).toBe(false)
    expect(resolveKey(Schema, 'rules.temp.max').isObject).toBe(false)
    expect(resolveKey(Schema, 'rules.temp').isObject).toBe(true)
    expect(code(() => resolveKey(Schema, 'ingest.maxPayload'))).toBe('CONFIG_ERR_UNKNOWN_KEY')
    expect(code(() => resolveKey(Schema, 'rules.temp.mx'))).toBe('CONFIG_ERR_UNKNOWN_KEY')
    expect(code(() => resolveKey(Schema, 'ingest.maxPayloadBytes.x'))).toBe('CONFIG_ERR_UNKNOWN_KEY')
  })

  it('checks values against the leaf schema and expands objects into leaves', () => {
    expect(code(() => checkAssignment(Schema, 'ingest.maxPayloadBytes', 'big'))).toBe('CONFIG_ERR_INVALID_VALUE')
    expect(code(() => checkAssignment(Schema, 'ingest.maxPayloadBytes', 10))).toBe('CONFIG_ERR_INVALID_VALUE')
    expect(checkAssignment(Schema, 'rules.temp', { max: 80, min: 0 })).toEqual({ 'rules.temp.max': 80, 'rules.temp.min': 0 })
    expect(parseAssignmentText(Schema, 'rules.temp.max=80')).toEqual({ key: 'rules.temp.max', value: 80 })
  })

  it('reads apply modes from x-apply annotations, with a table for unannotated sections', () => {
    expect(applyModeOf(EdgeConfigSchema, 'ingest.maxPayloadBytes')).toBe('live')
    expect(applyModeOf(EdgeConfigSchema, 'storage.synchronous')).toBe('restart')
    expect(applyModeOf(EdgeConfigSchema, 'mqtt.port')).toBe('restart')
    expect(applyModeOf(Schema, 'rules.temp.max')).toBe('live')
  })
})

describe('config documents', () => {
  const meta = { user: 'user:admin', origin: 'hub' }

  it('keeps concurrent edits of different keys, including sibling keys of one new record entry', () => {
    const base = newConfigDoc()
    let a = Automerge.clone(base)
    let b = Automerge.clone(base, { actor: 'bb'.repeat(16) })
    a = applyEdit(a, Schema, { set: { 'rules.temp': { max: 80 } } }, meta)
    b = applyEdit(b, Schema, { set: { 'rules.temp.min': 5 } }, { user: 'tech', origin: 'edge:d1' })
    const merged = Automerge.merge(a, b)
    expect(documentValues(merged).values).toEqual({ 'rules.temp.max': 80, 'rules.temp.min': 5 })
  })

  it('resolves concurrent edits of one key the same way on every replica', () => {
    let a = newConfigDoc('aa'.repeat(16))
    let b = newConfigDoc('bb'.repeat(16))
    a = applyEdit(a, Schema, { set: { 'ingest.maxPayloadBytes': 1000 } }, meta)
    b = applyEdit(b, Schema, { set: { 'ingest.maxPayloadBytes': 2000 } }, meta)
    const ab = Automerge.merge(Automerge.clone(a), b)
    const ba = Automerge.merge(Automerge.clone(b), a)
    expect(documentValues(ab).values).toEqual(documentValues(ba).values)
    // Same Lamport counter: the higher actor id wins.
    expect(documentValues(ab).values['ingest.maxPayloadBytes']).toBe(2000)
  })

  it('unsets a key and the keys beneath it, records who/where/what, and refuses bad edits without changing anything', () => {
    let doc = applyEdit(newConfigDoc(), Schema, { set: { 'rules.temp': { max: 80, min: 1 } } }, meta)
    doc = applyEdit(doc, Schema, { unset: ['rules.temp'] }, { user: 'tech', origin: 'edge:d1' })
    expect(documentValues(doc).values).toEqual({})
    const history = documentHistory(doc)
    expect(history.map((h) => [h.user, h.origin])).toEqual([
      ['user:admin', 'hub'],
      ['tech', 'edge:d1'],
    ])
    expect(history[1]?.unset).toEqual(['rules.temp.max', 'rules.temp.min'])
    const heads = headsOf(doc)
    expect(code(() => applyEdit(doc, Schema, { set: { 'ingest.nope': 1 } }, meta))).toBe('CONFIG_ERR_UNKNOWN_KEY')
    expect(code(() => applyEdit(doc, Schema, {}, meta))).toBe('CONFIG_ERR_EMPTY_EDIT')
    expect(headsOf(doc)).toEqual(heads)
  })
})

describe('layers', () => {
  it('takes each key from the deepest layer that sets it, and reports every problem with its layer', () => {
    const result = effectiveConfig(EdgeConfigSchema, {
      file: { 'ingest.maxPayloadBytes': 100_000, 'storage.retentionDays': 9 },
      group: { 'ingest.maxPayloadBytes': 2048, 'ingest.maxReadingsPerMessage': 50 },
      device: { 'ingest.maxReadingsPerMessage': 70 },
    })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.config.ingest).toMatchObject({ maxPayloadBytes: 2048, maxReadingsPerMessage: 70 })
    expect(result.config.storage.retentionDays).toBe(9)
    expect(result.sources).toMatchObject({ 'ingest.maxPayloadBytes': 'group', 'ingest.maxReadingsPerMessage': 'device', 'storage.retentionDays': 'file', 'storage.maxBytes': 'default' })
    const bad = effectiveConfig(EdgeConfigSchema, { group: { 'ingest.maxPayloadBytes': 'x', 'ingest.zzz': 1 } })
    expect(bad.ok).toBe(false)
    if (bad.ok) return
    expect(bad.problems.map((p) => [p.key, p.code, p.layer])).toEqual(
      expect.arrayContaining([
        ['ingest.zzz', 'CONFIG_ERR_UNKNOWN_KEY', 'group'],
        ['ingest.maxPayloadBytes', 'CONFIG_ERR_INVALID_VALUE', 'group'],
      ]),
    )
  })
})

describe('sync messages', () => {
  it('refuses text that is not base64 or not a sync message, and a message Automerge cannot apply', () => {
    expect(code(() => decodeSyncMessageText('not base64!', 'm'))).toBe('CONFIG_ERR_SYNC_MESSAGE_MALFORMED')
    expect(code(() => decodeSyncMessageText(Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64'), 'm'))).toBe('CONFIG_ERR_SYNC_MESSAGE_MALFORMED')
    expect(code(() => receiveSync(newConfigDoc(), Automerge.initSyncState(), new Uint8Array([0x42, 1, 2]), 'm'))).toBe('CONFIG_ERR_SYNC_MESSAGE_MALFORMED')
  })

  it('after a long partition, sends only the missing changes (persisted sync state), not the whole document', () => {
    let hub = newConfigDoc()
    let edge = newConfigDoc()
    let hubState = Automerge.initSyncState()
    let edgeState = Automerge.initSyncState()
    const exchange = () => {
      let bytes = 0
      for (let round = 0; round < 20; round++) {
        const [hs, toEdge] = Automerge.generateSyncMessage(hub, hubState)
        hubState = hs
        if (toEdge) {
          bytes += toEdge.byteLength
          ;[edge, edgeState] = Automerge.receiveSyncMessage(edge, edgeState, toEdge)
        }
        const [es, toHub] = Automerge.generateSyncMessage(edge, edgeState)
        edgeState = es
        if (toHub) {
          bytes += toHub.byteLength
          ;[hub, hubState] = Automerge.receiveSyncMessage(hub, hubState, toHub)
        }
        if (!toEdge && !toHub) break
      }
      return bytes
    }
    for (let i = 0; i < 300; i++) hub = applyEdit(hub, EdgeConfigSchema, { set: { 'ingest.maxPayloadBytes': 1000 + i } }, { user: 'user:admin', origin: 'hub' })
    const initial = exchange()
    expect(headsOf(edge)).toEqual(headsOf(hub))
    // Reconnect after a partition: both sides restart from their persisted sync states.
    hubState = Automerge.decodeSyncState(Automerge.encodeSyncState(hubState))
    edgeState = Automerge.decodeSyncState(Automerge.encodeSyncState(edgeState))
    for (let i = 0; i < 5; i++) hub = applyEdit(hub, EdgeConfigSchema, { set: { 'storage.retentionDays': i + 1 } }, { user: 'user:admin', origin: 'hub' })
    const incremental = exchange()
    expect(headsOf(edge)).toEqual(headsOf(hub))
    // Only the 5 new changes travel (plus heads and a Bloom filter), not the 300 before them (the first sync sent the whole document).
    expect(incremental).toBeLessThan(Automerge.getAllChanges(hub).slice(-5).reduce((n, c) => n + c.byteLength, 0) + 600)
    expect(incremental).toBeLessThan(initial)
  })
})
