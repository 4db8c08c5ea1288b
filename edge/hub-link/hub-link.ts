import type { HubLinkConfig } from '../../shared/config/edge-config-schema.js'
import { heartbeatExchange, type HeartbeatAnswer } from '../../shared/protocol/heartbeat.js'
import type { AlertStore } from '../store/alert-store.js'
import type { Logger } from '../../shared/log/logger.js'
import type { UploadStream } from '../outbox/stream-epochs.js'
import { forwardPendingAlerts } from './alert-forwarder.js'
import { backoffDelayMs } from './backoff.js'
import type { HealthSampler } from './health-sampler.js'
import { HubRequestError, type HubClient } from './hub-client.js'

export const HUB_LINK_STATES = ['disabled', 'connecting', 'online', 'offline', 'revoked'] as const
/**
 * - disabled: no hub configured (stand-alone edge)
 * - connecting: enrolled, no answer from the hub yet
 * - online: the last exchange with the hub succeeded
 * - offline: the hub is unreachable or failing; retrying with backoff
 * - revoked: the hub revoked this device; the link has stopped for good
 */
export type HubLinkState = (typeof HUB_LINK_STATES)[number]

/** What /healthz and /v1/stats show under `hub`. */
export interface HubLinkStatus {
  state: HubLinkState
  url?: string
  deviceId?: string
  heartbeatIntervalSeconds?: number
  lastHeartbeatAt?: string | null
  /** Consecutive failed exchanges. */
  failures?: number
  lastError?: string | null
  alertsPending?: number
  /** Sealed telemetry batches waiting for the hub (see edge/outbox/). */
  outbox?: { pendingBatches: number; pendingReadings: number; confirmedSeq: number }
}

/** The telemetry outbox as the link drives it (edge/outbox/). */
export interface HubLinkOutbox {
  /** Uploads pending batches in order; `beforeBatch` forwards pending alerts first. */
  upload(beforeBatch: () => Promise<void>, shouldStop: () => boolean): Promise<{ batches: number; readings: number; duplicates: number }>
  counts(): { pendingBatches: number; pendingReadings: number; confirmedSeq: number }
  /** Fires when a batch is sealed (upload it now if online). */
  onSealed(listener: () => void): () => void
  uploadIntervalMs: number
}

export interface HubLinkOptions {
  client: HubClient
  deviceId: string
  alerts: AlertStore
  health: HealthSampler
  config: HubLinkConfig
  log: Logger
  /** The upload stream epoch alerts are forwarded under (edge/outbox/stream-epochs.ts). */
  stream?: UploadStream
  /** Telemetry batches to upload after the alerts (none: heartbeats and alerts only). */
  outbox?: HubLinkOutbox
  /** For backoff jitter; tests pass a fixed one. */
  random?: () => number
}

/**
 * The edge's side of the hub: one loop that heartbeats every
 * `heartbeatIntervalSeconds` and then forwards pending alerts. A failure
 * (hub down, 5xx, timeout) puts the link `offline` and retries with
 * exponential backoff and jitter; the next success heartbeats at once and
 * catches up on alerts raised meanwhile. Only one exchange runs at a time,
 * which keeps alerts in seq order. Nothing in ingest waits for it.
 */
export class HubLink {
  readonly #options: HubLinkOptions
  readonly #log: Logger
  #state: HubLinkState = 'connecting'
  #intervalSeconds: number
  #nextHeartbeatAt = 0
  #lastHeartbeatAt: number | null = null
  #failures = 0
  #lastError: string | null = null
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #nudged = false
  #stopped = false
  readonly #onRaised = () => this.#nudge()
  #offSealed: (() => void) | undefined

  constructor(options: HubLinkOptions) {
    this.#options = options
    this.#log = options.log
    this.#intervalSeconds = options.config.heartbeatIntervalSeconds
  }

  get state(): HubLinkState {
    return this.#state
  }

  start(): void {
    this.#options.alerts.on('raised', this.#onRaised)
    this.#offSealed = this.#options.outbox?.onSealed(() => this.#nudge())
    this.#schedule(0)
  }

  /** Stops the loop, abandoning an exchange in flight (an alert batch not acknowledged stays unforwarded). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#options.alerts.off('raised', this.#onRaised)
    this.#offSealed?.()
    clearTimeout(this.#timer)
    this.#options.client.close()
    await this.#running
  }

  /**
   * Takes a new hub config at once (live config): heartbeat interval, alert
   * batch size and backoff. The URL and the timeout apply at the next start.
   */
  reconfigure(config: HubLinkConfig): void {
    const intervalChanged = config.heartbeatIntervalSeconds !== this.#options.config.heartbeatIntervalSeconds
    this.#options.config = config
    if (!intervalChanged) return
    this.#intervalSeconds = config.heartbeatIntervalSeconds
    if (this.#lastHeartbeatAt !== null) this.#nextHeartbeatAt = this.#lastHeartbeatAt + this.#intervalSeconds * 1000
    if (this.#state === 'online' && this.#running === undefined) this.#schedule(this.#nextHeartbeatAt - Date.now())
  }

  /** The signed client, for other exchanges with the hub (config sync). */
  get client(): HubClient {
    return this.#options.client
  }

  status(): HubLinkStatus {
    return {
      state: this.#state,
      url: this.#options.client.url,
      deviceId: this.#options.deviceId,
      heartbeatIntervalSeconds: this.#intervalSeconds,
      lastHeartbeatAt: this.#lastHeartbeatAt === null ? null : new Date(this.#lastHeartbeatAt).toISOString(),
      failures: this.#failures,
      lastError: this.#lastError,
      alertsPending: this.#options.alerts.counts().pending,
      ...(this.#options.outbox === undefined ? {} : { outbox: this.#options.outbox.counts() }),
    }
  }

  /** A new alert: forward it now if the hub is reachable (offline, the backoff decides). */
  #nudge(): void {
    if (this.#state !== 'online' || this.#stopped) return
    if (this.#running !== undefined) this.#nudged = true
    else this.#schedule(0)
  }

  #schedule(delayMs: number): void {
    if (this.#stopped || this.#state === 'revoked') return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#running = this.#exchange().finally(() => {
        this.#running = undefined
      })
    }, Math.max(0, delayMs))
    // The link alone must not keep the process alive.
    this.#timer.unref()
  }

  async #exchange(): Promise<void> {
    const { client, alerts, health, config } = this.#options
    this.#nudged = false
    try {
      if (Date.now() >= this.#nextHeartbeatAt) {
        const answer = await client.exchange(heartbeatExchange, health.sample())
        this.#lastHeartbeatAt = Date.now()
        this.#adoptInterval(answer)
        this.#nextHeartbeatAt = this.#lastHeartbeatAt + this.#intervalSeconds * 1000
      }
      const forwardAlerts = async () => {
        const forwarded = await forwardPendingAlerts(client, alerts, config.alertBatchSize, this.#options.stream)
        if (forwarded.sent > 0) {
          this.#log.info(`forwarded ${forwarded.sent} alerts to the hub`, { accepted: forwarded.accepted, duplicates: forwarded.duplicates })
        }
      }
      await forwardAlerts()
      const outbox = this.#options.outbox
      if (outbox !== undefined) {
        // Alerts always travel first: pending alerts are forwarded before
        // every batch. A due heartbeat interrupts a long backlog.
        const uploaded = await outbox.upload(forwardAlerts, () => this.#stopped || Date.now() >= this.#nextHeartbeatAt)
        if (uploaded.batches > 0) {
          this.#log.info(`uploaded ${uploaded.batches} telemetry batches (${uploaded.readings} readings) to the hub`, { duplicates: uploaded.duplicates })
        }
      }
      if (this.#state !== 'online') this.#log.info(`hub ${client.url} reachable: link online`)
      this.#state = 'online'
      this.#failures = 0
      this.#lastError = null
      const pendingUpload = outbox !== undefined && outbox.counts().pendingBatches > 0
      const nextUploadAt = outbox === undefined ? Infinity : Date.now() + (pendingUpload ? 0 : outbox.uploadIntervalMs)
      this.#schedule(this.#nudged ? 0 : Math.min(this.#nextHeartbeatAt, nextUploadAt) - Date.now())
    } catch (err) {
      this.#failed(err as Error)
    }
  }

  #failed(err: Error): void {
    if (this.#stopped) return
    this.#lastError = err.message
    if (err instanceof HubRequestError && err.hubCode === 'HUB_ERR_DEVICE_REVOKED') {
      this.#state = 'revoked'
      this.#log.error(`the hub revoked this device (${this.#options.deviceId}): heartbeats and alert forwarding stopped; ingest goes on locally. Enrol again with a new token to reconnect.`, {
        hub: err.message,
      })
      return
    }
    this.#failures += 1
    const delayMs = backoffDelayMs(this.#failures, {
      initialMs: this.#options.config.backoffInitialMs,
      maxMs: this.#options.config.backoffMaxMs,
      ...(this.#options.random ? { random: this.#options.random } : {}),
    })
    if (this.#state !== 'offline' || this.#failures === 1) {
      const retryable = !(err instanceof HubRequestError) || err.retryable
      // An endpoint that failed the pinned identity is retried too, but it is a security event: logged as an error.
      const identity = err instanceof HubRequestError && err.kind === 'identity'
      const log = retryable && !identity ? this.#log.warn.bind(this.#log) : this.#log.error.bind(this.#log)
      log(`hub exchange failed: link offline, retrying with backoff (ingest is unaffected)`, { error: err.message, retryInMs: delayMs })
    }
    this.#state = 'offline'
    this.#schedule(delayMs)
  }

  /** The hub may ask for another interval (the answer schema bounds it as the config schema does). */
  #adoptInterval(answer: HeartbeatAnswer): void {
    const asked = answer.heartbeatIntervalSeconds
    if (asked === this.#intervalSeconds) return
    this.#log.info(`the hub set the heartbeat interval to ${asked} s (was ${this.#intervalSeconds} s)`)
    this.#intervalSeconds = asked
  }
}
