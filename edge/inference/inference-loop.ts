import { CloudosError } from '../../shared/errors.js'
import { silentLogger, type Logger } from '../../shared/log/logger.js'
import type { DetectorInput, ModelDescriptor, ModelRegistry } from '../../shared/anomaly/detector.js'
import type { AnomalyConfig } from '../../shared/config/edge-config-schema.js'

/** A reading handed to the model, with the series' parts the rules and the score store need. */
export interface ScoredInput extends DetectorInput {
  sensorId: string
  metric: string
}

export interface InferenceStatus {
  enabled: boolean
  model: ModelDescriptor | null
  /** Why no model is loaded (start-up or enable failed), if so. */
  loadError: string | null
  ticks: number
  readingsScored: number
  /** Readings the model never saw because too many waited (inference fell behind). */
  readingsSkipped: number
  runFailures: number
  pending: number
  lastBatchSize: number
  lastRunMs: number
}

export interface InferenceLoopOptions {
  config: AnomalyConfig
  /** Opens the model registry with a model path (undefined: the default model). */
  openRegistry: (modelPath: string | undefined) => Promise<ModelRegistry>
  /** The default model's path, for a config update that unsets `modelPath`. */
  defaultModelPath: () => string
  /** Receives each tick's readings with their scores (0..1, or NaN while a window fills). */
  onScores: (inputs: readonly ScoredInput[], scores: Float64Array) => void
  log?: Logger
}

const RUN_FAILURE_LOG_INTERVAL_MS = 10_000

/**
 * The edge's inference loop. Readings are offered as ingest accepts them;
 * those that arrive within one tick (one event-loop turn by default, or
 * `anomaly.tickMs`) go to the model together in one `scoreBatch`, i.e. one
 * onnxruntime `session.run` for all series. While a run is in flight new
 * readings gather for the next one, and after a run the loop rests in
 * proportion to it (`maxBusyShare`), so the model never takes more than that
 * share of the thread that also runs ingest; when more than
 * `maxPendingReadings` wait, further readings are skipped and counted rather
 * than queued: a slow model never holds back ingest nor grows memory.
 */
export class InferenceLoop {
  readonly #openRegistry: InferenceLoopOptions['openRegistry']
  readonly #defaultModelPath: () => string
  readonly #onScores: InferenceLoopOptions['onScores']
  readonly #log: Logger
  #config: AnomalyConfig
  #registry: ModelRegistry | undefined
  #loadError: string | null = null
  #pending: ScoredInput[] = []
  #timer: NodeJS.Immediate | NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #closed = false
  #lastFailureLogAt = Number.NEGATIVE_INFINITY
  /** performance.now() before which the next run should not start (anomaly.maxBusyShare). */
  #restUntil = 0
  readonly #counts = { ticks: 0, readingsScored: 0, readingsSkipped: 0, runFailures: 0, lastBatchSize: 0, lastRunMs: 0 }

  constructor(options: InferenceLoopOptions) {
    this.#config = options.config
    this.#openRegistry = options.openRegistry
    this.#defaultModelPath = options.defaultModelPath
    this.#onScores = options.onScores
    this.#log = options.log ?? silentLogger
  }

  /** True when readings should be offered (inference enabled and a model loaded). */
  get active(): boolean {
    return this.#config.enabled && !this.#closed && this.#registry?.current() !== undefined
  }

  /**
   * Loads the configured model when inference is enabled. A model that cannot
   * be loaded does not stop the edge: ingest and the other rules run, the
   * error is logged and shown by `status()`, and a model can be loaded later.
   */
  async start(): Promise<void> {
    if (this.#config.enabled) await this.#open(this.#config.modelPath).catch(() => undefined)
  }

  /** Takes one accepted reading. Cheap: an append, and a tick scheduled if none is. */
  offer(seriesKey: string, sensorId: string, metric: string, ts: number, value: number): void {
    if (this.#pending.length >= this.#config.maxPendingReadings) {
      this.#counts.readingsSkipped++
      return
    }
    this.#pending.push({ seriesKey, sensorId, metric, ts, value })
    if (this.#timer === undefined && this.#running === undefined) this.#schedule()
  }

  /** Loads and switches to another model; throws (MODEL_ERR_*, INFERENCE_ERR_DISABLED) and keeps the current one on failure. */
  async swap(modelPath: string): Promise<ModelDescriptor> {
    if (!this.#config.enabled) throw new CloudosError('INFERENCE_ERR_DISABLED', 'anomaly inference is switched off (anomaly.enabled=false): no model to swap')
    if (this.#registry === undefined) return this.#open(modelPath)
    const model = await this.#registry.swap(modelPath)
    this.#log.info('anomaly model swapped', { name: model.name, version: model.version, path: model.path })
    return model
  }

  /**
   * Takes a new `anomaly` config section while running: switches inference
   * on or off, and swaps the model if `modelPath` changed. A refused model
   * throws and leaves the old one running (and the old path in force).
   */
  async update(config: AnomalyConfig): Promise<void> {
    const previous = this.#config
    if (!config.enabled) {
      this.#config = config
      this.#pending = []
      const registry = this.#registry
      this.#registry = undefined
      await this.#running
      await registry?.close()
      return
    }
    if (!previous.enabled || this.#registry === undefined) {
      this.#config = config
      await this.#open(config.modelPath)
      return
    }
    if (config.modelPath !== previous.modelPath) {
      await this.swap(config.modelPath ?? this.#defaultModelPath())
    }
    this.#config = config
  }

  status(): InferenceStatus {
    return {
      enabled: this.#config.enabled,
      model: this.#registry?.current()?.model ?? null,
      loadError: this.#loadError,
      pending: this.#pending.length,
      ...this.#counts,
    }
  }

  /** Scores what waits, then releases the model. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#clearTimer()
    await this.#running
    if (this.#pending.length > 0) await this.#tick()
    await this.#registry?.close()
    this.#registry = undefined
  }

  async #open(modelPath: string | undefined): Promise<ModelDescriptor> {
    try {
      const registry = await this.#openRegistry(modelPath)
      const model = registry.current()?.model
      if (model === undefined) {
        await registry.close()
        throw new CloudosError('INFERENCE_ERR_NO_MODEL', `no model could be loaded from ${modelPath ?? 'the default model path'}`)
      }
      const old = this.#registry
      this.#registry = registry
      this.#loadError = null
      await old?.close()
      this.#log.info('anomaly model loaded', { name: model.name, version: model.version, path: model.path })
      return model
    } catch (err) {
      if (this.#registry === undefined) this.#loadError = (err as Error).message
      this.#log.error('anomaly model not loaded; readings are not scored', { error: (err as Error).message, code: (err as CloudosError).code })
      throw err
    }
  }

  #schedule(): void {
    if (this.#closed) return
    const run = () => {
      this.#timer = undefined
      this.#running = this.#tick().finally(() => {
        this.#running = undefined
        if (this.#pending.length > 0 && this.#timer === undefined) this.#schedule()
      })
    }
    const delay = Math.max(this.#config.tickMs, this.#restUntil - performance.now())
    this.#timer = delay <= 0 ? setImmediate(run) : setTimeout(run, delay)
  }

  async #tick(): Promise<void> {
    // At most maxBatchReadings per run: the detector's per-reading work runs on
    // this thread, and a value rule's reading arriving meanwhile waits for it.
    const limit = this.#config.maxBatchReadings
    let inputs = this.#pending
    if (inputs.length > limit) {
      this.#pending = inputs.slice(limit)
      inputs = inputs.slice(0, limit)
    } else {
      this.#pending = []
    }
    const detector = this.#registry?.current()
    if (inputs.length === 0 || detector === undefined) return
    const started = performance.now()
    let scores: Float64Array
    try {
      scores = await detector.scoreBatch(inputs)
    } catch (err) {
      this.#counts.runFailures++
      const now = Date.now()
      if (now - this.#lastFailureLogAt >= RUN_FAILURE_LOG_INTERVAL_MS) {
        this.#lastFailureLogAt = now
        this.#log.error('anomaly model run failed; these readings stay unscored', {
          code: 'INFERENCE_ERR_RUN_FAILED',
          error: (err as Error).message,
          readings: inputs.length,
          failures: this.#counts.runFailures,
        })
      }
      return
    }
    this.#counts.ticks++
    this.#counts.readingsScored += inputs.length
    this.#counts.lastBatchSize = inputs.length
    const runMs = performance.now() - started
    this.#counts.lastRunMs = runMs
    const share = this.#config.maxBusyShare
    this.#restUntil = performance.now() + (runMs * (1 - share)) / share
    try {
      this.#onScores(inputs, scores)
    } catch (err) {
      this.#log.error('handling anomaly scores failed', { error: (err as Error).message })
    }
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer as NodeJS.Timeout)
    clearImmediate(this.#timer as NodeJS.Immediate)
    this.#timer = undefined
  }
}
