import * as Automerge from '@automerge/automerge'
import { CloudosError } from '../errors.js'
import type { ConfigDoc } from './config-document.js'

/**
 * The wire format of config sync between an edge and the hub
 * (`POST /v1/devices/me/config/sync`, a signed device request). Each side
 * runs Automerge's sync protocol per document with a sync state per peer;
 * messages travel base64 in JSON so the device signature covers them like any
 * other body.
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

export interface ConfigSyncRequest {
  session: string
  /** Sync messages (base64) for each document; null: nothing to say. */
  messages: Partial<Record<SyncedDoc, string | null>>
  /** Hold the request up to this long when neither side has anything to send (long-poll). */
  waitMs?: number
}

export interface ConfigSyncResponse {
  deviceId: string
  group: string
  messages: Record<SyncedDoc, string | null>
  /** The hub's heads after this exchange (desired state). */
  heads: Record<SyncedDoc, string[]>
}

/** What the edge reports after each apply attempt (device twin: reported state). */
export interface ConfigReport {
  group: string
  /** Heads of the documents whose merged result is in effect. */
  appliedHeads: Record<SyncedDoc, string[]>
  appliedAt: number | null
  /** Heads of the documents the edge holds now (applied unless status is 'rejected'). */
  currentHeads: Record<SyncedDoc, string[]>
  status: 'applied' | 'rejected'
  errors: { key: string; code: string; reason: string; layer?: string }[]
  pendingRestart: string[]
}

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Decodes a base64 sync message; CONFIG_ERR_SYNC_MESSAGE_MALFORMED when it is not base64 or not a sync message. */
export function decodeSyncMessageText(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string' || text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new CloudosError('CONFIG_ERR_SYNC_MESSAGE_MALFORMED', `${what}: a sync message must be non-empty base64`)
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'))
  try {
    Automerge.decodeSyncMessage(bytes)
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_SYNC_MESSAGE_MALFORMED', `${what}: not an Automerge sync message (${(err as Error).message})`)
  }
  return bytes
}

export interface ReceiveOutcome {
  doc: Automerge.Doc<ConfigDoc>
  state: Automerge.SyncState
  changed: boolean
}

/** Applies a received sync message; a message Automerge refuses becomes CONFIG_ERR_SYNC_MESSAGE_MALFORMED with nothing changed. */
export function receiveSync(doc: Automerge.Doc<ConfigDoc>, state: Automerge.SyncState, message: Uint8Array, what: string): ReceiveOutcome {
  const before = Automerge.getHeads(doc)
  let next: [Automerge.Doc<ConfigDoc>, Automerge.SyncState, null]
  try {
    next = Automerge.receiveSyncMessage(doc, state, message)
  } catch (err) {
    throw new CloudosError('CONFIG_ERR_SYNC_MESSAGE_MALFORMED', `${what}: the sync message was refused (${(err as Error).message})`)
  }
  const after = Automerge.getHeads(next[0])
  const changed = before.length !== after.length || before.some((h, i) => h !== after[i])
  return { doc: next[0], state: next[1], changed }
}

/** Drops what a sync state believes is in flight, keeping the shared heads (after a failed or abandoned exchange). */
export const resetSyncState = (state: Automerge.SyncState): Automerge.SyncState => Automerge.decodeSyncState(Automerge.encodeSyncState(state))
