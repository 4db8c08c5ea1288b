/**
 * The {@link AnomalyDetector} over an onnxruntime session: per-series state in
 * TypeScript, the network batched over every ready series in one run.
 *
 * scoreBatch works in three passes so one session.run serves the whole call,
 * even when a call holds several readings of the same series:
 * 1. in input order, admit each reading and, if its series' window is ready,
 *    copy the normalised window into the batch, then push the reading;
 * 2. run the network once over all collected windows;
 * 3. in input order, turn each forecast error into a score (the likelihood is
 *    sequential per series, and input order keeps each series in order).
 * Calls are serialised, so overlapping callers cannot interleave passes.
 */
import type * as Ort from 'onnxruntime-node'
import { CloudosError } from '../errors.js'
import type { AnomalyDetector, DetectorInput, ModelDescriptor } from './detector.js'
import { SeriesState, type PipelineSettings } from './series-state.js'
import type { WindowFrame } from './series-window.js'

export interface OnnxDetectorOptions {
  readonly ort: typeof Ort
  readonly session: Ort.InferenceSession
  readonly model: ModelDescriptor
  readonly inputName: string
  readonly outputName: string
  /** Values per input row: the window, then the seasonal context if the model has it. */
  readonly inputWidth: number
  /** Values per output row (the forecast is the first). */
  readonly outputWidth: number
  readonly pipeline: PipelineSettings
}

interface PendingForecast {
  index: number
  state: SeriesState
  frame: WindowFrame
  value: number
  ts: number
  spatial: number
}

export class OnnxDetector implements AnomalyDetector {
  readonly model: ModelDescriptor
  readonly #options: OnnxDetectorOptions
  readonly #series = new Map<string, SeriesState>()
  #batch = new Float32Array(0)
  #queue: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(options: OnnxDetectorOptions) {
    this.model = options.model
    this.#options = options
  }

  /** Series with state, for metrics. */
  get seriesCount(): number {
    return this.#series.size
  }

  scoreBatch(inputs: readonly DetectorInput[]): Promise<Float64Array> {
    // Calls accepted before close() still complete; later ones are refused.
    if (this.#closed) return Promise.reject(new CloudosError('MODEL_ERR_INFERENCE_FAILED', `detector for ${this.model.name} is closed (the model was swapped or the runtime is stopping)`))
    const run = this.#queue.then(() => this.#score(inputs))
    this.#queue = run.catch(() => undefined)
    return run
  }

  forget(seriesKey: string): void {
    this.#series.delete(seriesKey)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#queue
    await this.#options.session.release()
  }

  /** Runs the bare network over `rows` normalised windows (used by warm-up and validation). */
  async forecast(windows: Float32Array, rows: number): Promise<Float32Array> {
    const { ort, session, inputName, outputName, outputWidth, inputWidth } = this.#options
    const tensor = new ort.Tensor('float32', windows.subarray(0, rows * inputWidth), [rows, inputWidth])
    let output: Ort.Tensor | undefined
    try {
      output = (await session.run({ [inputName]: tensor }))[outputName]
    } catch (err) {
      throw new CloudosError('MODEL_ERR_INFERENCE_FAILED', `model ${this.model.name} failed to run: ${(err as Error).message}`, { model: this.model.path })
    }
    if (output === undefined || !(output.data instanceof Float32Array) || output.data.length !== rows * outputWidth) {
      throw new CloudosError('MODEL_ERR_INFERENCE_FAILED', `model ${this.model.name} returned no ${outputName} of shape [${rows}, ${outputWidth}]`, { model: this.model.path })
    }
    return output.data
  }

  async #score(inputs: readonly DetectorInput[]): Promise<Float64Array> {
    const width = this.#options.inputWidth
    const scores = new Float64Array(inputs.length).fill(Number.NaN)
    const pending: PendingForecast[] = []
    this.#ensureCapacity(inputs.length * width)
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index] as DetectorInput
      const state = this.#stateFor(input.seriesKey)
      if (state.admit(input.ts, input.value) !== 'accepted') continue
      // The range check sees every accepted reading, in order, before it joins the range.
      const spatial = state.spatial.check(input.value)
      if (state.window.ready) {
        const frame = state.window.writeNormalised(this.#batch, pending.length * width, input.ts)
        pending.push({ index, state, frame, value: input.value, ts: input.ts, spatial })
      }
      state.window.push(input.ts, input.value)
    }
    if (pending.length === 0) return scores
    const forecasts = await this.forecast(this.#batch, pending.length)
    const { outputWidth } = this.#options
    for (let row = 0; row < pending.length; row++) {
      const { index, state, frame, value, ts, spatial } = pending[row] as PendingForecast
      const forecast = forecasts[row * outputWidth] as number
      const target = state.window.normalise(value, frame)
      // A non-finite forecast (a broken user model) scores NaN and teaches the likelihood nothing.
      scores[index] = Number.isFinite(forecast) ? state.score(target - forecast, target - frame.typicalTarget, ts, spatial) : Number.NaN
    }
    return scores
  }

  #stateFor(seriesKey: string): SeriesState {
    let state = this.#series.get(seriesKey)
    if (state === undefined) {
      state = new SeriesState(this.#options.pipeline)
      this.#series.set(seriesKey, state)
    }
    return state
  }

  #ensureCapacity(values: number): void {
    if (this.#batch.length < values) this.#batch = new Float32Array(Math.max(values, this.#batch.length * 2))
  }
}
