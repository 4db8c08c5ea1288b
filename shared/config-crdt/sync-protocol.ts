import * as Automerge from '@automerge/automerge'
import { CloudosError } from '../errors.js'
import type { ConfigDoc } from './config-document.js'

/**
 * Automerge sync messages as config sync carries them (the exchanges
 * themselves are shared/protocol/config-sync.ts): base64 in JSON, decoded and
 * applied with coded refusals, and sync states reset after a lost message.
 */

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
