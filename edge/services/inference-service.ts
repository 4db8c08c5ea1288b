import type { AnomalyConfig, EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import { InferenceLoop, type ScoredInput } from '../inference/inference-loop.js'
import { loadModelSource, type ModelSource } from '../inference/model-source.js'
import { ScoreWriter } from '../inference/score-writer.js'
import type { ScoreStore } from '../store/score-store.js'
import type { EdgeService } from './edge-service.js'

export interface InferenceServiceOptions {
  config: EdgeConfig
  scores: ScoreStore
  /** Each scored batch, after its scores are queued for writing (the rules engine's score rules). */
  onScores: (inputs: readonly ScoredInput[], scores: Float64Array) => void
  log: Logger
}

/**
 * Anomaly scoring: the inference loop and the writer of its scores. Owns
 * `anomaly`. The model loads in the background from `start`: ingest and value
 * rules never wait for it. Its stop comes after the broker and the final
 * commit: it scores what was accepted, then writes the scores, before the
 * database closes.
 */
export class InferenceService implements EdgeService {
  readonly name = 'inference'
  readonly sections = ['anomaly'] as const
  readonly loop: InferenceLoop
  readonly scoreWriter: ScoreWriter
  readonly #log: Logger
  #loading: Promise<void> | undefined

  constructor(options: InferenceServiceOptions) {
    const { config, log } = options
    this.#log = log
    // The ONNX runtime is loaded with the first model, not at start-up.
    let modelSource: ModelSource | undefined
    const model = async () => (modelSource ??= await loadModelSource())
    this.scoreWriter = new ScoreWriter({
      store: options.scores,
      intervalMs: config.anomaly.scoreCommitIntervalMs,
      model: () => this.loop.status().model?.name ?? 'unknown',
      log,
    })
    this.loop = new InferenceLoop({
      config: config.anomaly,
      openRegistry: async (modelPath) => (await model()).openModelRegistry({ ...(modelPath === undefined ? {} : { modelPath }), logger: log }),
      defaultModelPath: () => {
        if (modelSource === undefined) throw new Error('the model module is not loaded')
        return modelSource.defaultModelPath()
      },
      onScores: (inputs, scores) => {
        this.scoreWriter.add(inputs, scores)
        options.onScores(inputs, scores)
      },
      log,
    })
  }

  /** Settles when the start-up model load has finished (loaded or failed: see `loop.status()`). */
  loaded(): Promise<void> {
    return this.#loading ?? Promise.resolve()
  }

  start(): void {
    // Not awaited: readings are scored once the model is in (GET /v1/model).
    this.#loading = this.loop.start()
  }

  async stop(): Promise<void> {
    await this.#loading
    await this.loop.close().catch((err: Error) => this.#log.warn('closing the inference loop failed', { error: err.message }))
    this.scoreWriter.close()
  }

  /** Switches inference on or off, or swaps the model; a refused model throws (MODEL_ERR_*) and the running one stays. */
  update(anomaly: AnomalyConfig): Promise<void> {
    return this.loop.update(anomaly)
  }

  reconfigure(next: EdgeConfig): void {
    this.update(next.anomaly).catch((err: Error) => this.#log.error('the anomaly config could not be applied: the running model stays', { error: err.message }))
  }
}
