import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'
import { DeviceIdSchema, GroupNameSchema } from './identifiers.js'

/**
 * Config sync between an edge and the hub (signed device requests). Each side
 * runs Automerge's sync protocol per document with a sync state per peer;
 * messages travel base64 in JSON so the device signature covers them like any
 * other body (shared/config-crdt/sync-protocol.ts decodes and applies them).
 *
 * `session` names one connection of the edge: when it changes (the edge
 * restarted, or an exchange failed or was abandoned), the hub forgets what it
 * believes it sent in the previous session and starts from the persisted
 * sync state (its shared heads), as Automerge's protocol requires after a
 * lost message.
 */
export const CONFIG_SYNC_PATH = '/v1/devices/me/config/sync'
export const CONFIG_REPORT_PATH = '/v1/devices/me/config/report'

/** The two documents a device syncs: its own and its group's. */
export const SYNCED_DOCS = ['device', 'group'] as const
export type SyncedDoc = (typeof SYNCED_DOCS)[number]

/** Longest long-poll the hub holds a sync request open. */
export const MAX_SYNC_WAIT_MS = 30_000

const Heads = Type.Array(Type.String(), { description: 'Automerge heads (change hashes), sorted' })
const DocHeads = Type.Object({ device: Heads, group: Heads })
const SyncMessage = Type.Union([Type.Null(), Type.String({ maxLength: 8 * 1024 * 1024 })], { description: 'An Automerge sync message, base64; null: nothing to say' })

export const ConfigSyncRequest = Type.Object(
  {
    session: Type.String({ minLength: 8, maxLength: 64 }),
    messages: Type.Object({ device: Type.Optional(SyncMessage), group: Type.Optional(SyncMessage) }, { additionalProperties: false }),
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SYNC_WAIT_MS, description: 'Hold the request up to this long when neither side has anything to send (long-poll)' })),
  },
  { additionalProperties: false },
)
export type ConfigSyncRequest = Static<typeof ConfigSyncRequest>

export const ConfigSyncAnswer = Type.Object({
  deviceId: DeviceIdSchema,
  group: GroupNameSchema,
  messages: Type.Object({ device: SyncMessage, group: SyncMessage }),
  heads: Type.Object({ device: Heads, group: Heads }, { description: 'The hub\'s heads after this exchange (desired state)' }),
})
export type ConfigSyncAnswer = Static<typeof ConfigSyncAnswer>

const Problem = Type.Object({ key: Type.String({ maxLength: 300 }), code: Type.String({ maxLength: 64 }), reason: Type.String({ maxLength: 2000 }), layer: Type.Optional(Type.String({ maxLength: 16 })) })

/** What the edge reports after each apply attempt (device twin: reported state). */
export const ConfigReport = Type.Object(
  {
    group: Type.String({ maxLength: 64 }),
    appliedHeads: Type.Object(DocHeads.properties, { description: 'Heads of the documents whose merged result is in effect' }),
    appliedAt: Type.Union([Type.Null(), Type.Integer({ minimum: 0 })]),
    currentHeads: Type.Object(DocHeads.properties, { description: 'Heads of the documents the edge holds now (applied unless status is rejected)' }),
    status: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]),
    errors: Type.Array(Problem, { maxItems: 1000 }),
    pendingRestart: Type.Array(Type.String({ maxLength: 300 }), { maxItems: 1000 }),
  },
  { additionalProperties: false },
)
export type ConfigReport = Static<typeof ConfigReport>

export const ConfigReportAnswer = Type.Object({ inSync: Type.Boolean({ description: 'The device applied what the hub holds for it' }) })
export type ConfigReportAnswer = Static<typeof ConfigReportAnswer>

export const configSyncExchange = defineExchange({ name: 'config sync', method: 'POST', path: CONFIG_SYNC_PATH, status: 200, body: ConfigSyncRequest, answer: ConfigSyncAnswer })
export const configReportExchange = defineExchange({ name: 'config report', method: 'POST', path: CONFIG_REPORT_PATH, status: 200, body: ConfigReport, answer: ConfigReportAnswer })
