import { EventEmitter } from 'node:events'
import type { Logger } from '../../shared/log/logger.js'
import type { OutboxConfig } from '../../shared/config/edge-config-schema.js'
import type { HubClient } from '../hub-link/hub-client.js'
import type { HubLinkOutbox } from '../hub-link/hub-link.js'
import type { CountersStore } from '../store/counters-store.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { OutboxStore } from './outbox-store.js'
import { SealedReadings } from './sealed-readings.js'
import { OutboxSealer, type SealResult } from './sealer.js'
import type { UploadStream } from './stream-epochs.js'
import { OutboxUploader } from './uploader.js'

export interface OutboxOptions {
  db: SqliteDatabase
  counters: CountersStore
  config: OutboxConfig
  log: Logger
  now?: () => number
  /** Fault point for tests (edge/fault-points.ts `afterHubAck`): runs after the hub's 200, before the edge records it. */
  afterHubAck?: (seq: number) => void
  /** The upload stream epoch (edge/outbox/stream-epochs.ts). */
  stream?: UploadStream
}

/** Counters whose sum is the number of readings the hub will never receive (reported with each upload). */
export const DROPPED_COUNTERS = ['readings_dropped.age', 'readings_dropped.budget', 'readings_dropped.refused'] as const

/**
 * The edge's store-and-forward outbox: seals closed windows of raw readings
 * into compressed batches on a timer (at rest: whether or not a hub is
 * configured) and, when the edge has a hub, gives the hub link what it needs
 * to upload them in order.
 */
export class Outbox extends EventEmitter<{ sealed: [SealResult] }> {
  readonly store: OutboxStore
  readonly sealed: SealedReadings
  readonly #options: OutboxOptions
  readonly #sealer: OutboxSealer
  readonly #now: () => number
  #config: OutboxConfig
  #timer: NodeJS.Timeout | undefined

  constructor(options: OutboxOptions) {
    super()
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#config = options.config
    this.store = new OutboxStore(options.db)
    this.sealed = new SealedReadings(this.store)
    this.#sealer = new OutboxSealer(options.db, this.store, options.counters, () => this.#config)
  }

  /** Seals closed windows now; emits `sealed` when it sealed something. */
  seal(now = this.#now()): SealResult {
    const result = this.#sealer.seal(now)
    if (result.batches > 0) this.emit('sealed', result)
    return result
  }

  /** Seals every `sealIntervalMs`; a failure is logged and retried on the next tick. */
  start(): void {
    this.stop()
    this.#timer = setInterval(() => {
      try {
        this.seal()
      } catch (err) {
        this.#options.log.error('sealing telemetry batches failed; raw readings are kept and sealing is retried', { error: (err as Error).message })
      }
    }, this.#config.sealIntervalMs)
    this.#timer.unref()
  }

  /** Live config: window, cut size and level apply from the next seal, the intervals at once. */
  reconfigure(config: OutboxConfig): void {
    const restart = this.#timer !== undefined && config.sealIntervalMs !== this.#config.sealIntervalMs
    this.#config = config
    if (restart) this.start()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    // The hub link stopped before the outbox: what it had acknowledged goes into the stream marker now.
    this.#options.stream?.flush()
  }

  droppedReadings(): number {
    const all = this.#options.counters.all()
    return DROPPED_COUNTERS.reduce((sum, name) => sum + (all[name] ?? 0), 0)
  }

  /** What the hub link drives, uploading through `client`. */
  linkFor(client: HubClient): HubLinkOutbox {
    const outboxConfig = () => this.#config
    const uploader = new OutboxUploader({
      client,
      outbox: this.store,
      counters: this.#options.counters,
      db: this.#options.db,
      log: this.#options.log,
      droppedReadings: () => this.droppedReadings(),
      ...(this.#options.stream === undefined ? {} : { stream: this.#options.stream }),
      ...(this.#options.afterHubAck === undefined ? {} : { afterHubAck: this.#options.afterHubAck }),
    })
    return {
      upload: (beforeBatch, shouldStop) => uploader.uploadPending(beforeBatch, shouldStop),
      counts: () => ({ ...this.store.counts(), ...(this.#options.stream === undefined ? {} : { streamEpoch: this.#options.stream.epoch }) }),
      onSealed: (listener) => {
        this.on('sealed', listener)
        return () => this.off('sealed', listener)
      },
      get uploadIntervalMs() {
        return outboxConfig().uploadIntervalMs
      },
    }
  }
}
