import { parseTelemetryTopic, TELEMETRY_TOPIC_PREFIX, type RejectReason, type SeriesKey } from '../../shared/telemetry.js'
import type { IngestConfig, StorageConfig } from '../../shared/config/edge-config-schema.js'
import type { DeadLetter } from '../store/dead-letter-store.js'
import { decodeTelemetry, type TelemetrySink } from './decode-telemetry.js'
import { IngestStats } from './ingest-stats.js'

/** Called when a message may be acknowledged (after commit for QoS >= 1). */
export type AckCallback = (err?: Error | null) => void

/** The readings of one series gathered for the next commit, in arrival order. */
export interface SeriesBatch {
  key: SeriesKey
  timestamps: number[]
  values: number[]
}

/** Everything one group commit writes, in one transaction. */
export interface CommitBatch {
  series: SeriesBatch[]
  deadLetters: DeadLetter[]
  readingCount: number
  rejectedByReason: Partial<Record<RejectReason, number>>
}

/**
 * Sees each accepted reading as it is decoded, before the group commit: the
 * rules engine (value and rate rules) and the inference loop hang here.
 * `seriesKey` is `<sensorId>/<metric>`. Must not throw.
 */
export type ReadingObserver = (key: SeriesKey, seriesKey: string, ts: number, value: number) => void

/** Writes a batch atomically; throws if nothing was written. */
export interface BatchWriter {
  write(batch: CommitBatch): void
}

export interface IngestPipelineOptions {
  writer: BatchWriter
  ingest: IngestConfig
  storage: Pick<StorageConfig, 'commitIntervalMs' | 'maxBatchReadings' | 'queueHighWaterMark'>
  now?: () => number
  /** Observes each successful commit's duration in seconds and size. */
  onCommit?: (seconds: number, readings: number) => void
  onCommitError?: (err: Error) => void
  /**
   * Wraps the release of a commit's acknowledgements, so the broker can
   * coalesce the PUBACKs it writes into one write per connection.
   */
  aroundAcks?: (release: () => void) => void
  onReading?: ReadingObserver
}

const RETRY_AFTER_FAILURE_MS = 1000
const TOPIC_CACHE_LIMIT = 10_000

/**
 * The group-commit ingest path. Messages are decoded as they arrive, their
 * readings gathered per series in memory, and all of it is written in one
 * transaction every `commitIntervalMs` (or sooner when `maxBatchReadings`
 * wait). A QoS >= 1 message is acknowledged only after the transaction holding
 * its readings (or its dead letter) has committed; QoS 0 at once, unless more
 * than `queueHighWaterMark` readings wait, in which case its acknowledgement
 * (and so the broker's reading of that client's socket) waits for the next
 * commit: TCP backpressure instead of unbounded memory.
 */
export class IngestPipeline {
  readonly stats = new IngestStats()
  readonly #options: IngestPipelineOptions
  readonly #now: () => number
  readonly #topicCache = new Map<string, SeriesKey | null>()
  #pending = new Map<string, SeriesBatch>()
  #deadLetters: DeadLetter[] = []
  #rejected: Partial<Record<RejectReason, number>> = {}
  #pendingReadings = 0
  #waiting: AckCallback[] = []
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  #lastCommitAt = Number.NEGATIVE_INFINITY
  /** True while the scheduled flush is an immediate one (not the interval timer). */
  #commitSoon = false
  /** The last commit failed: only the retry timer commits until one succeeds. */
  #retrying = false
  #closed = false
  readonly #sink: TelemetrySink & { batch: SeriesBatch | undefined; topic: string; seriesKey: string; payload: Buffer; receivedAt: number }

  constructor(options: IngestPipelineOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    const pipeline = this
    const observe = options.onReading
    this.#sink = {
      batch: undefined,
      topic: '',
      seriesKey: '',
      payload: Buffer.alloc(0),
      receivedAt: 0,
      reading(ts, value) {
        const batch = this.batch as SeriesBatch
        batch.timestamps.push(ts)
        batch.values.push(value)
        pipeline.#pendingReadings++
        if (observe !== undefined) observe(batch.key, this.seriesKey, ts, value)
      },
      reject(reason, detail, count) {
        pipeline.#reject(this.topic, this.payload, this.receivedAt, reason, detail, count)
      },
    }
  }

  /**
   * Takes new ingest limits and group-commit settings at once (live config):
   * the next message is decoded with them; readings already waiting are kept.
   */
  reconfigure(ingest: IngestConfig, storage: IngestPipelineOptions['storage']): void {
    this.#options.ingest = ingest
    this.#options.storage = storage
  }

  /** Readings decoded but not yet committed. */
  get queueDepth(): number {
    return this.#pendingReadings
  }

  /**
   * Takes one message published on a `sensors/...` topic. `done` is called
   * when the message may be acknowledged; with an error only if the pipeline
   * is closed.
   */
  accept(topic: string, payload: Buffer, qos: number, done: AckCallback): void {
    if (this.#closed) {
      done(new Error('ingest pipeline is closed'))
      return
    }
    const receivedAt = this.#now()
    this.stats.messagesReceived++
    const key = this.#seriesKey(topic)
    if (key === null) {
      this.#reject(topic, payload, receivedAt, 'unknown_topic', `topic "${topic.slice(0, 200)}" is not sensors/<sensorId>/<metric>`, 1)
    } else {
      let batch = this.#pending.get(topic)
      if (batch === undefined) {
        batch = { key, timestamps: [], values: [] }
        this.#pending.set(topic, batch)
      }
      const sink = this.#sink
      sink.batch = batch
      sink.topic = topic
      if (this.#options.onReading !== undefined) sink.seriesKey = topic.slice(TELEMETRY_TOPIC_PREFIX.length)
      sink.payload = payload
      sink.receivedAt = receivedAt
      const before = this.#pendingReadings
      decodeTelemetry(payload, receivedAt, this.#options.ingest, sink)
      this.stats.readingsReceived += this.#pendingReadings - before
    }
    if (qos > 0 || this.#pendingReadings >= this.#options.storage.queueHighWaterMark) this.#waiting.push(done)
    else done(null)
    this.#schedule()
  }

  /** Commits whatever waits, now. Returns false if the commit failed (it will be retried). */
  flush(): boolean {
    this.#clearTimer()
    this.#commitSoon = false
    if (this.#pendingReadings === 0 && this.#deadLetters.length === 0 && this.#waiting.length === 0) return true
    const batch: CommitBatch = {
      series: [...this.#pending.values()].filter((s) => s.timestamps.length > 0),
      deadLetters: this.#deadLetters,
      readingCount: this.#pendingReadings,
      rejectedByReason: this.#rejected,
    }
    const waiting = this.#waiting
    const started = performance.now()
    try {
      this.#options.writer.write(batch)
    } catch (err) {
      // Nothing was written: keep everything (including the unacknowledged
      // messages) and try again later. The high-water mark stops intake.
      this.stats.commitFailures++
      this.#options.onCommitError?.(err as Error)
      this.#retrying = true
      if (!this.#closed) this.#timer = setTimeout(() => this.flush(), RETRY_AFTER_FAILURE_MS)
      return false
    }
    const seconds = (performance.now() - started) / 1000
    this.#retrying = false
    this.#pending = new Map()
    this.#deadLetters = []
    this.#rejected = {}
    this.#pendingReadings = 0
    this.#waiting = []
    this.#lastCommitAt = performance.now()
    this.stats.commits++
    this.stats.readingsStored += batch.readingCount
    this.#options.onCommit?.(seconds, batch.readingCount)
    if (waiting.length > 0) {
      const release = () => {
        for (const done of waiting) done(null)
      }
      if (this.#options.aroundAcks === undefined) release()
      else this.#options.aroundAcks(release)
    }
    return true
  }

  /**
   * Commits on the next turn of the event loop instead of after the group
   * commit interval: for sources that deliver one message at a time and
   * wait for its acknowledgement (mqtt.js with an external broker).
   */
  requestPromptCommit(): void {
    if (this.#closed || this.#waiting.length === 0 || this.#commitSoon || this.#retrying) return
    this.#clearTimer()
    this.#commitSoon = true
    this.#timer = setImmediate(() => this.flush())
  }

  /** Stops taking messages, commits what waits and releases the waiting acks. */
  close(): boolean {
    const ok = this.flush()
    this.#closed = true
    this.#clearTimer()
    const waiting = this.#waiting
    this.#waiting = []
    for (const done of waiting) done(new Error('edge is shutting down'))
    return ok
  }

  #seriesKey(topic: string): SeriesKey | null {
    let key = this.#topicCache.get(topic)
    if (key === undefined) {
      key = parseTelemetryTopic(topic) ?? null
      if (this.#topicCache.size >= TOPIC_CACHE_LIMIT) this.#topicCache.clear()
      this.#topicCache.set(topic, key)
    }
    return key
  }

  #reject(topic: string, payload: Buffer, receivedAt: number, reason: RejectReason, detail: string, count: number): void {
    this.stats.readingsReceived += count
    this.stats.readingsRejected += count
    this.stats.rejectedByReason[reason] += count
    this.#rejected[reason] = (this.#rejected[reason] ?? 0) + count
    this.#deadLetters.push({ receivedAt, topic, reason, detail, payload })
  }

  #schedule(): void {
    if (this.#closed) return
    if (this.#pendingReadings >= this.#options.storage.maxBatchReadings && !this.#commitSoon && !this.#retrying) {
      // Enough waits: commit on the next turn instead of waiting out the
      // interval timer (or a failure's retry timer) that may be pending.
      this.#clearTimer()
      this.#commitSoon = true
      this.#timer = setImmediate(() => this.flush())
      return
    }
    if (this.#timer !== undefined) return
    const wait = this.#lastCommitAt + this.#options.storage.commitIntervalMs - performance.now()
    this.#commitSoon = wait <= 0
    this.#timer = wait <= 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), wait)
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer as NodeJS.Timeout)
    clearImmediate(this.#timer as NodeJS.Immediate)
    this.#timer = undefined
  }
}
