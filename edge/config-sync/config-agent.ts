import { EventEmitter } from 'node:events'
import * as Automerge from '@automerge/automerge'
import {
  applyEdit,
  documentHistory,
  documentValues,
  headsOf,
  loadConfigDoc,
  newConfigDoc,
  type ConfigDoc,
  type ConfigEdit,
  type HistoryEntry,
} from '../../shared/config-crdt/config-document.js'
import { changedKeys, effectiveConfig, nonDefaultLeaves, type ConfigProblem, type LayerName } from '../../shared/config-crdt/layers.js'
import { isDeviceLocalKey, withoutDeviceLocalKeys } from '../../shared/config-crdt/device-local-keys.js'
import { SYNCED_DOCS, type ConfigReport, type SyncedDoc } from '../../shared/protocol/config-sync.js'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { extraConfigChecks } from '../../shared/config/extra-checks.js'
import { EdgeConfigSchema, type EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { AppliedRecord, ConfigReplicaStore } from './config-replica-store.js'

/** What the runtime does with a new effective config: reconfigure live, say which changed keys wait for a restart. */
export type ApplyConfig = (next: EdgeConfig) => { pendingRestart: string[] }

export interface ConfigAgentOptions {
  store: ConfigReplicaStore
  /** The config from the local file and flags, validated: the layer above the defaults. */
  fileConfig: EdgeConfig
  /** This device's id, or 'local' for a stand-alone edge. */
  deviceId: string
  /** This device's group (from enrolment); none for a stand-alone edge. */
  group: string | undefined
  log: Logger
  /** Counts refusals by code. */
  onRefused?: (code: ErrorCode) => void
  clock?: () => number
}

export interface ConfigAgentEvents {
  /** A local edit changed the device document: sync it now. */
  localChange: []
  /** An apply attempt finished (applied or rejected): report it. */
  outcome: []
}

/**
 * The edge's config: its replicas of the device and group documents (in
 * SQLite), the effective config merged from them over the local file, and
 * the last good config. Every change to a replica (a local edit, a sync
 * message) is merged, validated and, when valid, handed to the runtime at
 * once; when invalid, the last good config stays in effect and the problems
 * are kept for the API and the hub.
 */
export class ConfigAgent extends EventEmitter<ConfigAgentEvents> {
  readonly #options: ConfigAgentOptions
  readonly #docs: Record<SyncedDoc, Automerge.Doc<ConfigDoc>>
  readonly #names: Record<SyncedDoc, string>
  readonly #fileLayer: Record<string, unknown>
  readonly #clock: () => number
  #apply: ApplyConfig | undefined
  #current: EdgeConfig
  #record: AppliedRecord
  #sources: Record<string, LayerName> = {}
  /** Device-local keys the documents set (refused), as `layer:key`: each is counted and logged once. */
  #refusedSeen = new Set<string>()

  constructor(options: ConfigAgentOptions) {
    super()
    this.#options = options
    this.#clock = options.clock ?? Date.now
    this.#fileLayer = nonDefaultLeaves(EdgeConfigSchema, options.fileConfig)
    this.#names = { device: options.deviceId, group: options.group ?? '' }
    this.#docs = { device: this.#loadReplica('device'), group: this.#loadReplica('group') }
    this.#current = options.fileConfig
    const stored = options.store.applied()
    this.#record = stored ?? { config: options.fileConfig, appliedHeads: this.currentHeads(), appliedAt: this.#clock(), status: 'applied', errors: [], pendingRestart: [] }
  }

  #loadReplica(which: SyncedDoc): Automerge.Doc<ConfigDoc> {
    const stored = this.#options.store.replica(which)
    if (stored === undefined || stored.name !== this.#names[which]) {
      if (stored !== undefined) this.#options.store.forgetSyncStates(which)
      return newConfigDoc()
    }
    try {
      return loadConfigDoc(stored.bytes)
    } catch (err) {
      // The hub holds the document too: start empty and let sync restore it.
      this.#options.log.error('a stored config replica does not decode: starting it empty, sync with the hub restores it', { doc: which, error: (err as Error).message })
      this.#options.onRefused?.('CONFIG_ERR_DOCUMENT_CORRUPT')
      this.#options.store.forgetSyncStates(which)
      return newConfigDoc()
    }
  }

  /**
   * The config to start with: the merged documents when they validate, else
   * the last good config (if it still validates), else the local file.
   */
  startupConfig(): EdgeConfig {
    const merged = this.#merge()
    this.#noteRefused(merged.refused)
    if (merged.ok) {
      this.#current = merged.config
      this.#record = { config: merged.config, appliedHeads: this.currentHeads(), appliedAt: this.#clock(), status: 'applied', errors: merged.refused, pendingRestart: [] }
    } else {
      const lastGood = effectiveConfig(EdgeConfigSchema, { file: this.#withFileDeviceLocal(nonDefaultLeavesOf(this.#record.config)), extraCheck: extraConfigChecks })
      this.#current = lastGood.ok ? lastGood.config : this.#options.fileConfig
      this.#record = { ...this.#record, status: 'rejected', errors: [...merged.problems, ...merged.refused], pendingRestart: [] }
      this.#options.log.error('the merged config documents do not validate: starting with the last good config', { problems: merged.problems })
    }
    this.#options.store.saveApplied(this.#record)
    return this.#current
  }

  /** Called once the runtime can reconfigure itself. */
  attach(apply: ApplyConfig): void {
    this.#apply = apply
  }

  get config(): EdgeConfig {
    return this.#current
  }

  get deviceId(): string {
    return this.#names.device
  }

  get groupName(): string {
    return this.#names.group
  }

  doc(which: SyncedDoc): Automerge.Doc<ConfigDoc> {
    return this.#docs[which]
  }

  currentHeads(): Record<SyncedDoc, string[]> {
    return { device: headsOf(this.#docs.device), group: headsOf(this.#docs.group) }
  }

  /** Replaces a replica after a sync message changed it; persists it, then merges and applies. */
  update(which: SyncedDoc, doc: Automerge.Doc<ConfigDoc>): void {
    this.#docs[which] = doc
    this.#options.store.saveReplica(which, this.#names[which], Automerge.save(doc))
    this.reapply()
  }

  /** Takes a replica back after a sync message that changed nothing (the old object is outdated). */
  adopt(which: SyncedDoc, doc: Automerge.Doc<ConfigDoc>): void {
    this.#docs[which] = doc
  }

  /** Reloads a replica from its last save (after a refused sync message left it outdated). */
  reload(which: SyncedDoc): void {
    this.#docs[which] = this.#loadReplica(which)
  }

  /** The hub says this device is in another group: its group replica starts over. */
  switchGroup(name: string): void {
    if (name === this.#names.group) return
    this.#names.group = name
    this.#options.store.forgetSyncStates('group')
    this.#docs.group = newConfigDoc()
    this.#options.store.saveReplica('group', name, Automerge.save(this.#docs.group))
    this.reapply()
  }

  /**
   * A technician's edit on site: checked against the schema (CONFIG_ERR_*
   * otherwise, nothing changed), made on the device document with
   * origin `edge:<deviceId>`, applied at once and synced when the hub is reachable.
   */
  edit(requested: ConfigEdit, user: string): { heads: string[]; refused: ConfigProblem[] } {
    // Device-local keys never enter the document (they would sync to the hub
    // and be refused there anyway): refused here, the rest applies.
    const { kept, refused } = withoutDeviceLocalKeys(EdgeConfigSchema, requested.set ?? {}, 'device')
    const edit: ConfigEdit = { ...requested, ...(requested.set === undefined ? {} : { set: kept }) }
    if (refused.length > 0) {
      for (const _ of refused) this.#options.onRefused?.('CONFIG_ERR_DEVICE_LOCAL_KEY')
      this.#options.log.warn('a local API edit set device-local keys: refused (set them in the config file)', { keys: refused.map((r) => r.key) })
      const nothingLeft = Object.keys(kept).length === 0 && (edit.unset ?? []).length === 0
      if (nothingLeft) {
        throw new CloudosError('CONFIG_ERR_DEVICE_LOCAL_KEY', `${refused.map((r) => `"${r.key}"`).join(', ')} grant trust or run code: only the edge's own config file may set them; nothing was changed`, {
          keys: refused.map((r) => r.key),
        })
      }
    }
    let next: Automerge.Doc<ConfigDoc> | undefined
    try {
      next = applyEdit(this.#docs.device, EdgeConfigSchema, edit, { user, origin: `edge:${this.#names.device}` }, this.#clock())
      // Refuse an edit whose result would not validate on its own keys (e.g. a bad cron expression).
      const trial = this.#merge({ ...this.#docs, device: next })
      if (!trial.ok) {
        const mine = trial.problems.find((p) => Object.hasOwn(edit.set ?? {}, p.key))
        if (mine !== undefined) throw new CloudosError(mine.code, mine.reason, { key: mine.key })
      }
    } catch (err) {
      // A change was made on a copy that is now refused: the replica goes back to its last save.
      if (next !== undefined && next !== this.#docs.device) this.reload('device')
      if (err instanceof CloudosError) this.#options.onRefused?.(err.code)
      throw err
    }
    if (next !== this.#docs.device) {
      this.update('device', next)
      this.emit('localChange')
    }
    return { heads: headsOf(next), refused }
  }

  #merge(docs: Record<SyncedDoc, Automerge.Doc<ConfigDoc>> = this.#docs) {
    const problems: ConfigProblem[] = []
    const layer = (which: SyncedDoc) => {
      const { values, unreadable } = documentValues(docs[which])
      for (const key of unreadable) problems.push({ key, code: 'CONFIG_ERR_INVALID_VALUE', reason: `"${key}" in the ${which} document is not a JSON value`, layer: which })
      return values
    }
    const result = effectiveConfig(EdgeConfigSchema, { file: this.#fileLayer, group: layer('group'), device: layer('device'), extraCheck: extraConfigChecks, refuseDeviceLocal: true })
    this.#sources = result.sources
    if (problems.length > 0) return { ok: false as const, problems: [...problems, ...(result.ok ? [] : result.problems)], sources: result.sources, refused: result.refused }
    return result
  }

  /**
   * The last good config stands in for the file when the merge fails: its
   * device-local values are replaced by the file's (an older version may
   * have applied a document's).
   */
  #withFileDeviceLocal(leaves: Record<string, unknown>): Record<string, unknown> {
    const kept = Object.fromEntries(Object.entries(leaves).filter(([key]) => !isDeviceLocalKey(EdgeConfigSchema, key)))
    for (const [key, value] of Object.entries(this.#fileLayer)) if (isDeviceLocalKey(EdgeConfigSchema, key)) kept[key] = value
    return kept
  }

  /** Counts and logs each device-local key a document sets, once per layer and key (a sync re-merges often). */
  #noteRefused(refused: ConfigProblem[]): void {
    const now = new Set(refused.map((r) => `${r.layer ?? ''}:${r.key}`))
    const fresh = refused.filter((r) => !this.#refusedSeen.has(`${r.layer ?? ''}:${r.key}`))
    this.#refusedSeen = now
    if (fresh.length === 0) return
    for (const _ of fresh) this.#options.onRefused?.('CONFIG_ERR_DEVICE_LOCAL_KEY')
    this.#options.log.warn('config documents set device-local keys: refused, the rest applies (set them in the edge config file)', {
      refused: fresh.map((r) => `${r.layer ?? '?'}: ${r.key}`),
    })
  }

  /** Merges the replicas and applies the result when it validates; otherwise keeps the last good config. */
  reapply(): void {
    const merged = this.#merge()
    const now = this.#clock()
    this.#noteRefused(merged.refused)
    if (merged.ok) {
      const changed = changedKeys(this.#current, merged.config)
      const outcome = changed.length > 0 && this.#apply ? this.#apply(merged.config) : { pendingRestart: this.#record.pendingRestart }
      this.#current = merged.config
      this.#record = { config: merged.config, appliedHeads: this.currentHeads(), appliedAt: now, status: 'applied', errors: merged.refused, pendingRestart: outcome.pendingRestart }
      if (changed.length > 0) this.#options.log.info('config applied', { changed, pendingRestart: outcome.pendingRestart })
    } else {
      this.#options.onRefused?.('CONFIG_ERR_MERGED_INVALID')
      this.#record = { ...this.#record, status: 'rejected', errors: [...merged.problems, ...merged.refused] }
      this.#options.log.error('the merged config does not validate: keeping the last good config', { problems: merged.problems })
    }
    this.#options.store.saveApplied(this.#record)
    this.emit('outcome')
  }

  /** What the hub is told (device twin: reported state). */
  report(): ConfigReport {
    return {
      group: this.#names.group,
      appliedHeads: this.#record.appliedHeads,
      appliedAt: this.#record.appliedAt,
      currentHeads: this.currentHeads(),
      status: this.#record.status,
      errors: this.#record.errors,
      pendingRestart: this.#record.pendingRestart,
    }
  }

  /** What `GET /v1/config` shows. */
  status() {
    return {
      deviceId: this.#names.device,
      effective: this.#current,
      sources: this.#sources,
      layers: {
        file: this.#fileLayer,
        group: documentValues(this.#docs.group).values,
        device: documentValues(this.#docs.device).values,
      },
      ...this.report(),
      appliedAt: new Date(this.#record.appliedAt).toISOString(),
    }
  }

  history(which: SyncedDoc): HistoryEntry[] {
    return documentHistory(this.#docs[which])
  }
}

function nonDefaultLeavesOf(config: unknown): Record<string, unknown> {
  return nonDefaultLeaves(EdgeConfigSchema, config)
}

export { SYNCED_DOCS }
