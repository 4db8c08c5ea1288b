import { randomUUID } from 'node:crypto'
import * as Automerge from '@automerge/automerge'
import type { TSchema } from '@sinclair/typebox'
import { applyEdit, newConfigDoc, type ConfigDoc, type ConfigEdit } from '../../shared/config-crdt/config-document.js'
import { decodeSyncMessageText, receiveSync, resetSyncState, toBase64 } from '../../shared/config-crdt/sync-protocol.js'
import { SYNCED_DOCS, type ConfigSyncAnswer, type ConfigSyncRequest, type SyncedDoc } from '../../shared/protocol/config-sync.js'

/**
 * An edge's two replicas and its sync states with the hub, without the rest
 * of the runtime: the same protocol steps as edge/config-sync/config-sync-loop.ts,
 * driven by the caller. Used by the property test and the benchmark's simulated fleet.
 */
export class EdgeReplica {
  readonly docs: Record<SyncedDoc, Automerge.Doc<ConfigDoc>> = { device: newConfigDoc(), group: newConfigDoc() }
  #states: Record<SyncedDoc, Automerge.SyncState> = { device: Automerge.initSyncState(), group: Automerge.initSyncState() }
  #session = randomUUID()
  bytesSent = 0
  bytesReceived = 0

  constructor(readonly deviceId: string) {}

  edit(schema: TSchema, edit: ConfigEdit, user = 'technician', now = Date.now()): void {
    this.docs.device = applyEdit(this.docs.device, schema, edit, { user, origin: `edge:${this.deviceId}` }, now)
  }

  /** The link broke: drop what was in flight, keep the shared heads (as persisted), start a new session. */
  disconnect(): void {
    for (const which of SYNCED_DOCS) this.#states[which] = resetSyncState(this.#states[which])
    this.#session = randomUUID()
  }

  request(): ConfigSyncRequest {
    const messages: Record<SyncedDoc, string | null> = { device: null, group: null }
    for (const which of SYNCED_DOCS) {
      const [state, message] = Automerge.generateSyncMessage(this.docs[which], this.#states[which])
      this.#states[which] = state
      if (message !== null) {
        this.bytesSent += message.byteLength
        messages[which] = toBase64(message)
      }
    }
    return { session: this.#session, messages }
  }

  /** Takes the hub's answer; true when it changed a replica. */
  receive(response: ConfigSyncAnswer): boolean {
    let changed = false
    for (const which of SYNCED_DOCS) {
      const text = response.messages[which]
      if (text === null) continue
      const message = decodeSyncMessageText(text, which)
      this.bytesReceived += message.byteLength
      const outcome = receiveSync(this.docs[which], this.#states[which], message, which)
      this.docs[which] = outcome.doc
      this.#states[which] = outcome.state
      changed ||= outcome.changed
    }
    return changed
  }

  static quiet(request: ConfigSyncRequest): boolean {
    return SYNCED_DOCS.every((which) => (request.messages[which] ?? null) === null)
  }
}
