import { EventEmitter } from 'node:events'
import * as Automerge from '@automerge/automerge'
import type { TSchema } from '@sinclair/typebox'
import { checkAssignment, resolveKey } from '../../shared/config-crdt/config-keys.js'
import {
  applyEdit,
  checkEdit,
  documentHistory,
  documentValues,
  headsOf,
  loadConfigDoc,
  newConfigDoc,
  type ChangeMeta,
  type ConfigDoc,
  type ConfigEdit,
  type HistoryEntry,
} from '../../shared/config-crdt/config-document.js'
import { effectiveConfig, type ConfigProblem, type LayerName } from '../../shared/config-crdt/layers.js'
import { decodeSyncMessageText, receiveSync, toBase64 } from '../../shared/config-crdt/sync-protocol.js'
import { MAX_SYNC_WAIT_MS, SYNCED_DOCS, type ConfigReport, type ConfigSyncAnswer, type ConfigSyncRequest, type SyncedDoc } from '../../shared/protocol/config-sync.js'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'
import type { ConfigDocKind, ConfigRepository } from './config-repository.js'
import type { DeviceId } from '../devices/device-repository.js'
import { KeyedLocks } from './doc-locks.js'

export const docIdOf = (kind: ConfigDocKind, name: string): string => `${kind}:${name}`

export interface HubConfigDocumentsOptions {
  repository: ConfigRepository
  /** The edge config schema every value is checked against. */
  schema: TSchema
  /** Checks the schema cannot express (e.g. a cron expression). */
  extraCheck?: (config: unknown) => ConfigProblem[]
  clock?: () => number
  /** Called with the code of every refused sync or edit (metrics). */
  onRefused?: (code: ErrorCode) => void
}

export interface DocumentView {
  kind: ConfigDocKind
  name: string
  values: Record<string, unknown>
  heads: string[]
  changes: number
}

interface PeerSession {
  session: string
  states: Map<string, Automerge.SyncState>
}

/**
 * The hub's config documents: one Automerge document per group and per
 * device, kept in memory once loaded and saved on every change. Operators
 * edit them (`edit`); devices sync them (`sync`) with Automerge's sync
 * protocol, holding the request open (long-poll) until there is something to
 * send; devices report what they applied (`report`).
 */
export class HubConfigDocuments {
  readonly #options: HubConfigDocumentsOptions
  readonly #clock: () => number
  readonly #docs = new Map<string, Automerge.Doc<ConfigDoc>>()
  readonly #peers = new Map<string, PeerSession>()
  readonly #locks = new KeyedLocks()
  readonly #changes = new EventEmitter()
  #closed = false

  constructor(options: HubConfigDocumentsOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
    this.#changes.setMaxListeners(0)
  }

  /** Ends every long-poll at once (hub shutdown). */
  close(): void {
    this.#closed = true
    this.#changes.emit('closed')
  }

  async #doc(docId: string): Promise<Automerge.Doc<ConfigDoc>> {
    let doc = this.#docs.get(docId)
    if (doc === undefined) {
      const stored = await this.#options.repository.findDocument(docId)
      doc = this.#docs.get(docId) ?? (stored === undefined ? newConfigDoc() : loadConfigDoc(stored.bytes))
      this.#docs.set(docId, doc)
    }
    return doc
  }

  async #store(kind: ConfigDocKind, name: string, doc: Automerge.Doc<ConfigDoc>): Promise<void> {
    const docId = docIdOf(kind, name)
    this.#docs.set(docId, doc)
    await this.#options.repository.saveDocument({ docId, kind, name, bytes: Automerge.save(doc), heads: headsOf(doc), updatedAt: this.#clock() })
    this.#changes.emit(docId)
  }

  async view(kind: ConfigDocKind, name: string): Promise<DocumentView> {
    const doc = await this.#doc(docIdOf(kind, name))
    return { kind, name, values: documentValues(doc).values, heads: headsOf(doc), changes: Automerge.getAllChanges(doc).length }
  }

  async history(kind: ConfigDocKind, name: string): Promise<HistoryEntry[]> {
    return documentHistory(await this.#doc(docIdOf(kind, name)))
  }

  /** Checks an operator's edit against the schema and applies it as one change; refused edits change nothing. */
  edit(kind: ConfigDocKind, name: string, edit: ConfigEdit, meta: ChangeMeta): Promise<DocumentView> {
    const docId = docIdOf(kind, name)
    return this.#locks.run(docId, async () => {
      const doc = await this.#doc(docId)
      try {
        const checked = checkEdit(this.#options.schema, edit)
        this.#checkWholeLayer(documentValues(doc).values, checked.set)
        const next = applyEdit(doc, this.#options.schema, edit, meta, this.#clock())
        if (next !== doc) await this.#store(kind, name, next)
      } catch (err) {
        if (err instanceof CloudosError) this.#options.onRefused?.(err.code)
        throw err
      }
      return this.view(kind, name)
    })
  }

  /** Problems the schema finds only on the whole config (a cron expression), for the keys just set. */
  #checkWholeLayer(current: Record<string, unknown>, set: Record<string, unknown>): void {
    const result = effectiveConfig(this.#options.schema, { device: { ...current, ...set }, ...(this.#options.extraCheck ? { extraCheck: this.#options.extraCheck } : {}) })
    if (result.ok) return
    const problem = result.problems.find((p) => Object.hasOwn(set, p.key))
    if (problem !== undefined) throw new CloudosError(problem.code, problem.reason, { key: problem.key })
  }

  /** defaults < group < device, as the hub sees it (the edge's local file is known only to the edge). */
  async effective(deviceId: DeviceId, group: string): Promise<{ config?: unknown; problems?: ConfigProblem[]; sources: Record<string, LayerName> }> {
    const [groupDoc, deviceDoc] = [await this.#doc(docIdOf('group', group)), await this.#doc(docIdOf('device', deviceId))]
    const result = effectiveConfig(this.#options.schema, {
      group: documentValues(groupDoc).values,
      device: documentValues(deviceDoc).values,
      ...(this.#options.extraCheck ? { extraCheck: this.#options.extraCheck } : {}),
    })
    return result.ok ? { config: result.config, sources: result.sources } : { problems: result.problems, sources: result.sources }
  }

  async desiredHeads(deviceId: DeviceId, group: string): Promise<Record<SyncedDoc, string[]>> {
    return { device: headsOf(await this.#doc(docIdOf('device', deviceId))), group: headsOf(await this.#doc(docIdOf('group', group))) }
  }

  async #peerState(peer: string, session: string, docId: string): Promise<Automerge.SyncState> {
    let current = this.#peers.get(peer)
    if (current === undefined || current.session !== session) {
      // A new session: whatever was in flight in the last one may be lost.
      current = { session, states: new Map() }
      this.#peers.set(peer, current)
    }
    let state = current.states.get(docId)
    if (state === undefined) {
      const stored = await this.#options.repository.findSyncState(peer, docId)
      state = stored === undefined ? Automerge.initSyncState() : Automerge.decodeSyncState(stored)
      current.states.set(docId, state)
    }
    return state
  }

  /**
   * One sync exchange with a device: receives its messages (device document:
   * only changes whose values the schema accepts; group document: none, the
   * device may not write it) and answers the hub's. When neither side has
   * anything to say and `waitMs` > 0, waits for a change to either document.
   */
  async sync(device: { id: DeviceId; group: string }, request: ConfigSyncRequest, aborted?: AbortSignal): Promise<ConfigSyncAnswer> {
    const ids: Record<SyncedDoc, string> = { device: docIdOf('device', device.id), group: docIdOf('group', device.group) }
    try {
      for (const which of SYNCED_DOCS) {
        const text = request.messages[which]
        if (text === undefined || text === null) continue
        const message = decodeSyncMessageText(text, `messages.${which}`)
        await this.#locks.run(ids[which], () => this.#receive(device.id, request.session, which, device, ids[which], message))
      }
    } catch (err) {
      if (err instanceof CloudosError) this.#options.onRefused?.(err.code)
      throw err
    }
    let answer = await this.#answer(device.id, request.session, ids)
    const waitMs = Math.min(request.waitMs ?? 0, MAX_SYNC_WAIT_MS)
    if (waitMs > 0 && answer.messages.device === null && answer.messages.group === null && !this.#closed) {
      await this.#waitForChange([ids.device, ids.group], waitMs, aborted)
      answer = await this.#answer(device.id, request.session, ids)
    }
    return { deviceId: device.id, group: device.group, ...answer }
  }

  async #receive(peer: string, session: string, which: SyncedDoc, device: { id: DeviceId; group: string }, docId: string, message: Uint8Array): Promise<void> {
    const doc = await this.#doc(docId)
    const before = documentValues(doc).values
    const state = await this.#peerState(peer, session, docId)
    let outcome: ReturnType<typeof receiveSync>
    try {
      // Receiving makes `doc` outdated even when it refuses the message.
      outcome = receiveSync(doc, state, message, `messages.${which}`)
      if (outcome.changed && which === 'group') {
        throw new CloudosError('CONFIG_ERR_FORBIDDEN_DOC', `device ${device.id} sent changes to the document of group "${device.group}": a device edits only its own device document`, {
          doc: docId,
        })
      }
      if (outcome.changed) this.#checkIncoming(before, outcome.doc, docId)
    } catch (err) {
      // Refused: nothing of it is kept; the document is reloaded from its last save.
      this.#docs.delete(docId)
      this.#peers.get(peer)?.states.delete(docId)
      throw err
    }
    this.#docs.set(docId, outcome.doc)
    const states = this.#peers.get(peer)?.states
    states?.set(docId, outcome.state)
    await this.#options.repository.saveSyncState(peer, docId, Automerge.encodeSyncState(outcome.state), this.#clock())
    if (outcome.changed) await this.#store('device', device.id, outcome.doc)
  }

  /** Every key a peer's changes set must be known and of its type: otherwise the whole message is refused. */
  #checkIncoming(old: Record<string, unknown>, after: Automerge.Doc<ConfigDoc>, docId: string): void {
    const { values, unreadable } = documentValues(after)
    if (unreadable.length > 0) {
      throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `${docId}: entries ${unreadable.join(', ')} are not JSON values`, { keys: unreadable })
    }
    for (const [key, value] of Object.entries(values)) {
      if (Object.hasOwn(old, key) && JSON.stringify(old[key]) === JSON.stringify(value)) continue
      resolveKey(this.#options.schema, key)
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) continue
      checkAssignment(this.#options.schema, key, value)
    }
  }

  async #answer(peer: string, session: string, ids: Record<SyncedDoc, string>): Promise<Omit<ConfigSyncAnswer, 'deviceId' | 'group'>> {
    const messages = { device: null, group: null } as Record<SyncedDoc, string | null>
    const heads = { device: [], group: [] } as Record<SyncedDoc, string[]>
    for (const which of SYNCED_DOCS) {
      await this.#locks.run(ids[which], async () => {
        const doc = await this.#doc(ids[which])
        const state = await this.#peerState(peer, session, ids[which])
        const [next, message] = Automerge.generateSyncMessage(doc, state)
        this.#peers.get(peer)?.states.set(ids[which], next)
        messages[which] = message === null ? null : toBase64(message)
        heads[which] = headsOf(doc)
      })
    }
    return { messages, heads }
  }

  #waitForChange(docIds: string[], ms: number, aborted?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        for (const id of docIds) this.#changes.off(id, done)
        this.#changes.off('closed', done)
        aborted?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      for (const id of docIds) this.#changes.on(id, done)
      this.#changes.on('closed', done)
      aborted?.addEventListener('abort', done)
    })
  }

  async report(deviceId: DeviceId, report: ConfigReport): Promise<void> {
    await this.#options.repository.saveReport(deviceId, report, this.#clock())
  }

  /** Desired vs reported, like a device twin. */
  async twin(deviceId: DeviceId, group: string): Promise<ConfigTwin> {
    const desired = await this.desiredHeads(deviceId, group)
    const stored = await this.#options.repository.findReport(deviceId)
    const reported = stored?.report
    const same = (a: readonly string[] | undefined, b: readonly string[]) => a !== undefined && a.length === b.length && [...a].sort().every((h, i) => h === [...b].sort()[i])
    const inSync = reported !== undefined && reported.status === 'applied' && reported.group === group && same(reported.appliedHeads.device, desired.device) && same(reported.appliedHeads.group, desired.group)
    return {
      desired,
      reported: reported === undefined ? null : { ...reported, reportedAt: new Date(stored?.reportedAt ?? 0).toISOString() },
      inSync,
      errors: reported?.errors ?? [],
      pendingRestart: reported?.pendingRestart ?? [],
    }
  }
}

export interface ConfigTwin {
  desired: Record<SyncedDoc, string[]>
  reported: (ConfigReport & { reportedAt: string }) | null
  /** The device applied exactly the desired heads of both documents. */
  inSync: boolean
  errors: ConfigReport['errors']
  pendingRestart: string[]
}
