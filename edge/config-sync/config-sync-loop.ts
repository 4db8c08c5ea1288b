import { randomUUID } from 'node:crypto'
import * as Automerge from '@automerge/automerge'
import { decodeSyncMessageText, receiveSync, resetSyncState, toBase64 } from '../../shared/config-crdt/sync-protocol.js'
import { configReportExchange, configSyncExchange, SYNCED_DOCS, type SyncedDoc } from '../../shared/protocol/config-sync.js'
import { isHubIdentifier } from '../../shared/protocol/identifiers.js'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { backoffDelayMs } from '../hub-link/backoff.js'
import { HubRequestError, type HubClient } from '../hub-link/hub-client.js'
import type { ConfigAgent } from './config-agent.js'
import type { ConfigReplicaStore } from './config-replica-store.js'

export const HUB_PEER = 'hub'

/** What the sync loop reads before every exchange with the hub (live config changes are taken on the next one). */
export interface ConfigSyncSettings {
  longPollSeconds: number
  requestTimeoutMs: number
  backoffInitialMs: number
  backoffMaxMs: number
}

export interface ConfigSyncLoopOptions {
  client: HubClient
  agent: ConfigAgent
  store: ConfigReplicaStore
  log: Logger
  /** Read on every exchange, so a live config change takes effect. */
  settings: () => ConfigSyncSettings
  onRefused?: (code: ErrorCode) => void
  /** Counts hub answers refused before use (EDGE_ERR_HUB_ANSWER_INVALID, EDGE_ERR_HUB_ID_INVALID). */
  onHubRefused?: (code: ErrorCode) => void
}

export interface ConfigSyncStatus {
  state: 'connecting' | 'in-sync' | 'syncing' | 'offline' | 'stopped'
  lastSyncAt: string | null
  lastError: string | null
  bytesSent: number
  bytesReceived: number
}

/**
 * Keeps the edge's replicas in sync with the hub: Automerge's sync protocol
 * over signed requests, one exchange at a time. While either side has
 * something to send it exchanges at once; when both are quiet it long-polls
 * (the hub answers as soon as a document changes). A local edit abandons the
 * long-poll and sends at once. After any failure the sync states drop what
 * they believed in flight (their shared heads are kept and persisted), the
 * session is renewed, and the loop retries with backoff.
 */
export class ConfigSyncLoop {
  readonly #options: ConfigSyncLoopOptions
  readonly #states: Record<SyncedDoc, Automerge.SyncState>
  #session = randomUUID()
  #stopped = false
  #poll: AbortController | undefined
  #wake: (() => void) | undefined
  #running: Promise<void> | undefined
  #failures = 0
  #lastReport = ''
  #status: ConfigSyncStatus = { state: 'connecting', lastSyncAt: null, lastError: null, bytesSent: 0, bytesReceived: 0 }
  readonly #onLocalChange = () => this.nudge()

  constructor(options: ConfigSyncLoopOptions) {
    this.#options = options
    const load = (which: SyncedDoc) => {
      const stored = options.store.syncState(HUB_PEER, which)
      return stored === undefined ? Automerge.initSyncState() : Automerge.decodeSyncState(stored)
    }
    this.#states = { device: load('device'), group: load('group') }
  }

  start(): void {
    this.#options.agent.on('localChange', this.#onLocalChange)
    this.#options.agent.on('outcome', this.#onLocalChange)
    this.#running = this.#loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#status.state = 'stopped'
    this.#options.agent.off('localChange', this.#onLocalChange)
    this.#options.agent.off('outcome', this.#onLocalChange)
    this.#poll?.abort()
    this.#wake?.()
    await this.#running
  }

  status(): ConfigSyncStatus {
    return { ...this.#status }
  }

  /** Something local changed: end a long-poll so it is sent now. */
  nudge(): void {
    this.#poll?.abort()
    this.#wake?.()
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#exchange()
        this.#failures = 0
      } catch (err) {
        if (this.#stopped) break
        this.#restartSession()
        const abandoned = err instanceof HubRequestError && err.kind === 'unreachable' && /abandoned|aborted/i.test(err.message) && this.#poll?.signal.aborted === true
        if (abandoned) continue
        this.#failures += 1
        const code = err instanceof CloudosError ? err.code : err instanceof HubRequestError ? err.hubCode : undefined
        if (code?.startsWith('CONFIG_ERR_') === true) this.#options.onRefused?.(code as ErrorCode)
        if (code === 'EDGE_ERR_HUB_ANSWER_INVALID' || code === 'EDGE_ERR_HUB_ID_INVALID') {
          this.#options.onHubRefused?.(code)
          this.#options.log.error(`config sync refused the hub's answer: ${code}`, { code, error: (err as Error).message })
        }
        // The hub refused this exchange (e.g. a value it does not accept): still tell it what is applied here.
        if (err instanceof HubRequestError && err.kind === 'refused') await this.#sendReport().catch(() => undefined)
        this.#status = { ...this.#status, state: 'offline', lastError: (err as Error).message }
        if (this.#failures === 1) this.#options.log.warn('config sync with the hub failed: retrying with backoff (the local config stays in effect)', { error: (err as Error).message })
        const settings = this.#options.settings()
        await this.#sleep(backoffDelayMs(this.#failures, { initialMs: settings.backoffInitialMs, maxMs: settings.backoffMaxMs }))
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref()
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  #restartSession(): void {
    this.#session = randomUUID()
    for (const which of SYNCED_DOCS) this.#states[which] = resetSyncState(this.#states[which])
  }

  async #sendReport(): Promise<void> {
    const report = this.#options.agent.report()
    if (JSON.stringify(report) === this.#lastReport) return
    await this.#options.client.exchange(configReportExchange, report)
    this.#lastReport = JSON.stringify(report)
  }

  async #exchange(): Promise<void> {
    const { agent, client, store } = this.#options
    const settings = this.#options.settings()
    const messages: Record<SyncedDoc, string | null> = { device: null, group: null }
    for (const which of SYNCED_DOCS) {
      const [state, message] = Automerge.generateSyncMessage(agent.doc(which), this.#states[which])
      this.#states[which] = state
      messages[which] = message === null ? null : toBase64(message)
    }
    const reportDue = JSON.stringify(agent.report()) !== this.#lastReport
    const quiet = messages.device === null && messages.group === null && !reportDue
    const waitMs = quiet ? settings.longPollSeconds * 1000 : 0
    this.#status.state = quiet ? 'in-sync' : 'syncing'
    const body = { session: this.#session, messages, waitMs }
    this.#poll = new AbortController()
    const sent = JSON.stringify(body).length
    const response = await client.exchange(configSyncExchange, body, { timeoutMs: waitMs + settings.requestTimeoutMs, signal: this.#poll.signal })
    this.#status.bytesSent += sent
    this.#status.bytesReceived += JSON.stringify(response).length
    // Checked again where used (shared/protocol/identifiers.ts): the group names a replica and a document at the hub.
    if (!isHubIdentifier(response.group) || !isHubIdentifier(response.deviceId)) {
      throw new CloudosError('EDGE_ERR_HUB_ID_INVALID', `the hub's config sync answer names device ${JSON.stringify(response.deviceId.slice(0, 80))} in group ${JSON.stringify(response.group.slice(0, 80))}: not used`, { field: 'group' })
    }
    if (response.group !== agent.groupName) {
      agent.switchGroup(response.group)
      this.#states.group = Automerge.initSyncState()
    }
    for (const which of SYNCED_DOCS) {
      const text = response.messages[which]
      if (text === null) continue
      const message = decodeSyncMessageText(text, `hub message for the ${which} document`)
      let outcome: ReturnType<typeof receiveSync>
      try {
        outcome = receiveSync(agent.doc(which), this.#states[which], message, `hub message for the ${which} document`)
      } catch (err) {
        agent.reload(which)
        throw err
      }
      this.#states[which] = outcome.state
      if (outcome.changed) agent.update(which, outcome.doc)
      else agent.adopt(which, outcome.doc)
    }
    for (const which of SYNCED_DOCS) store.saveSyncState(HUB_PEER, which, Automerge.encodeSyncState(this.#states[which]))
    await this.#sendReport()
    this.#status = { ...this.#status, lastSyncAt: new Date().toISOString(), lastError: null }
  }
}
