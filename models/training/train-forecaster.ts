/**
 * Trains the next-value forecaster: windows of synthetic series, normalised
 * exactly as the edge normalises them (SeriesWindow), a small dense network,
 * Huber loss, Adam, mini-batches in a seeded shuffle. Same options and seed,
 * same weights: every random draw comes from one seeded generator, in a fixed
 * order, and the arithmetic is plain float64.
 */
import { CloudosError } from '../../shared/errors.js'
import { deriveSeed, seededRandom, type RandomSource } from '../../shared/simulator/seeded-random.js'
import { DEFAULT_SEASONAL, type SeasonalSettings } from '../../shared/anomaly/seasonal-profile.js'
import { DEFAULT_NORMALISATION, featureWidth, SeriesWindow, type NormalisationSettings } from '../../shared/anomaly/series-window.js'
import {
  AdamOptimiser,
  backward,
  forwardWithActivations,
  initialiseNetwork,
  roundToFloat32,
  zeroGradients,
  type DenseNetwork,
  type LayerSpec,
} from './dense-network.js'
import { generateTrainingSeries, type TrainingSeries } from './training-series.js'

export interface TrainingOptions {
  readonly seed: number
  readonly epochs: number
  readonly window: number
  readonly hidden: readonly number[]
  readonly seriesCount: number
  readonly seriesLength: number
  readonly batchSize: number
  readonly learningRate: number
  readonly normalisation: NormalisationSettings
  /** Time-of-day context as extra inputs; undefined: the window only. */
  readonly seasonal: SeasonalSettings | undefined
}

export const DEFAULT_TRAINING: TrainingOptions = {
  seed: 20261126,
  epochs: 4,
  window: 32,
  hidden: [32, 16],
  seriesCount: 320,
  seriesLength: 1000,
  batchSize: 64,
  learningRate: 2e-3,
  normalisation: DEFAULT_NORMALISATION,
  seasonal: DEFAULT_SEASONAL,
}

/** Input rows and next-value targets, row-major. */
export interface WindowSamples {
  /** Values per input row. */
  readonly width: number
  readonly count: number
  readonly inputs: Float32Array
  readonly targets: Float32Array
}

export interface TrainingResult {
  /** The trained network, parameters rounded to float32 as exported. */
  readonly network: DenseNetwork
  readonly epochLosses: number[]
  readonly validationLoss: number
  /** Loss of the naive forecast "next = last value", on the validation set, for comparison. */
  readonly naiveValidationLoss: number
  readonly trainingSamples: number
  readonly validationSamples: number
  readonly durationMs: number
}

const HUBER_DELTA = 1

export function trainForecaster(options: TrainingOptions = DEFAULT_TRAINING, onEpoch?: (epoch: number, loss: number) => void): TrainingResult {
  const started = performance.now()
  const dataRandom = seededRandom(deriveSeed(options.seed, 'training-data'))
  const training = windowSamples(generateTrainingSeries(options.seriesCount, options.seriesLength, dataRandom), options)
  const validationRandom = seededRandom(deriveSeed(options.seed, 'validation-data'))
  const validation = windowSamples(
    generateTrainingSeries(Math.max(8, Math.round(options.seriesCount / 5)), options.seriesLength, validationRandom),
    options,
  )

  const layers: LayerSpec[] = [...options.hidden.map((outputs) => ({ outputs, activation: 'tanh' as const })), { outputs: 1, activation: 'linear' }]
  const width = featureWidth(options.window, options.seasonal !== undefined)
  const network = initialiseNetwork(width, layers, seededRandom(deriveSeed(options.seed, 'weights')))
  const optimiser = new AdamOptimiser(network)
  const shuffleRandom = seededRandom(deriveSeed(options.seed, 'shuffle'))
  const order = Uint32Array.from({ length: training.count }, (_, k) => k)
  const epochLosses: number[] = []
  const input = new Float64Array(width)

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffle(order, shuffleRandom)
    // Linear decay to 20% of the initial rate over the run.
    const learningRate = options.learningRate * (1 - (0.8 * epoch) / Math.max(1, options.epochs))
    let lossSum = 0
    for (let start = 0; start < training.count; start += options.batchSize) {
      const end = Math.min(training.count, start + options.batchSize)
      const gradients = zeroGradients(network)
      for (let b = start; b < end; b++) {
        const k = order[b] as number
        for (let i = 0; i < width; i++) input[i] = training.inputs[k * width + i] as number
        const activations = forwardWithActivations(network, input)
        const prediction = (activations[activations.length - 1] as Float64Array)[0] as number
        const residual = prediction - (training.targets[k] as number)
        lossSum += huber(residual)
        backward(network, input, activations, [Math.max(-HUBER_DELTA, Math.min(HUBER_DELTA, residual))], gradients)
      }
      optimiser.step(network, gradients, 1 / (end - start), learningRate)
    }
    const loss = lossSum / training.count
    if (!Number.isFinite(loss)) throw new CloudosError('MODEL_ERR_TRAINING_FAILED', `training diverged at epoch ${epoch + 1} (loss ${loss})`)
    epochLosses.push(loss)
    onEpoch?.(epoch + 1, loss)
  }

  const exported = roundToFloat32(network)
  return {
    network: exported,
    epochLosses,
    validationLoss: meanLoss(validation, (row) => forwardWithActivations(exported, row).at(-1)![0] as number),
    naiveValidationLoss: meanLoss(validation, (row) => row[options.window - 1] as number),
    trainingSamples: training.count,
    validationSamples: validation.count,
    durationMs: performance.now() - started,
  }
}

/** Every window of every series with the value that follows it, normalised as the edge does. */
export function windowSamples(
  series: readonly TrainingSeries[],
  options: Pick<TrainingOptions, 'window' | 'normalisation' | 'seasonal'>,
): WindowSamples {
  const width = featureWidth(options.window, options.seasonal !== undefined)
  const total = series.reduce((sum, s) => sum + Math.max(0, s.values.length - options.window), 0)
  const inputs = new Float32Array(total * width)
  const targets = new Float32Array(total)
  let count = 0
  for (const { values, startTs, intervalMs } of series) {
    const state = new SeriesWindow(options.window, options.normalisation, options.seasonal)
    values.forEach((value, t) => {
      const ts = startTs + t * intervalMs
      if (state.ready) {
        const frame = state.writeNormalised(inputs, count * width, ts)
        targets[count] = state.normalise(value, frame)
        count++
      }
      state.push(ts, value)
    })
  }
  return { width, count, inputs, targets }
}

function meanLoss(samples: WindowSamples, predict: (row: Float64Array) => number): number {
  const row = new Float64Array(samples.width)
  let sum = 0
  for (let k = 0; k < samples.count; k++) {
    for (let i = 0; i < samples.width; i++) row[i] = samples.inputs[k * samples.width + i] as number
    sum += huber(predict(row) - (samples.targets[k] as number))
  }
  return sum / Math.max(1, samples.count)
}

function huber(residual: number): number {
  const a = Math.abs(residual)
  return a <= HUBER_DELTA ? 0.5 * a * a : HUBER_DELTA * (a - 0.5 * HUBER_DELTA)
}

function shuffle(order: Uint32Array, random: RandomSource): void {
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(random.next() * (k + 1))
    const tmp = order[k] as number
    order[k] = order[j] as number
    order[j] = tmp
  }
}
