import { silentLogger, type Logger } from '../../shared/log/logger.js'
import type { ScoreBatch, ScoreStore } from '../store/score-store.js'
import type { ScoredInput } from './inference-loop.js'

/** Readings' scores waiting to be written above which new ones are dropped (counted): the store is failing. */
const MAX_BUFFERED_SCORES = 1_000_000

/**
 * Gathers the scores of many ticks per series and writes them in one
 * transaction every `intervalMs`, so scoring does not add a transaction per
 * tick. Scores still in memory at a crash are lost; their readings are not
 * (they were committed by the ingest path).
 */
export class ScoreWriter {
  readonly #store: ScoreStore
  readonly #intervalMs: number
  readonly #model: () => string
  readonly #log: Logger
  #pending = new Map<string, ScoreBatch>()
  #buffered = 0
  #timer: NodeJS.Timeout | undefined
  #failing = false
  readonly stats = { scoresWritten: 0, scoresDropped: 0, writeFailures: 0 }

  constructor(options: { store: ScoreStore; intervalMs: number; model: () => string; log?: Logger }) {
    this.#store = options.store
    this.#intervalMs = options.intervalMs
    this.#model = options.model
    this.#log = options.log ?? silentLogger
  }

  add(inputs: readonly ScoredInput[], scores: Float64Array): void {
    for (let i = 0; i < inputs.length; i++) {
      const score = scores[i] as number
      if (Number.isNaN(score)) continue
      if (this.#buffered >= MAX_BUFFERED_SCORES) {
        this.stats.scoresDropped++
        continue
      }
      const input = inputs[i] as ScoredInput
      let batch = this.#pending.get(input.seriesKey)
      if (batch === undefined) {
        batch = { sensorId: input.sensorId, metric: input.metric, timestamps: [], scores: [] }
        this.#pending.set(input.seriesKey, batch)
      }
      batch.timestamps.push(input.ts)
      batch.scores.push(score)
      this.#buffered++
    }
    if (this.#buffered > 0 && this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), this.#intervalMs)
      this.#timer.unref()
    }
  }

  /** Writes what waits now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#buffered === 0) return
    const batches = [...this.#pending.values()]
    try {
      this.#store.write(batches, this.#model())
    } catch (err) {
      this.stats.writeFailures++
      if (!this.#failing) this.#log.error('writing anomaly scores failed; kept in memory and retried', { error: (err as Error).message })
      this.#failing = true
      this.#timer = setTimeout(() => this.flush(), Math.max(this.#intervalMs, 1000))
      this.#timer.unref()
      return
    }
    this.#failing = false
    this.stats.scoresWritten += this.#buffered
    this.#pending = new Map()
    this.#buffered = 0
  }

  close(): void {
    this.flush()
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
