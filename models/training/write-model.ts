/**
 * Trains the forecaster and writes `<name>.onnx` with its card
 * `<name>.card.json`: what `cloudos model train` runs.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CloudosError } from '../../shared/errors.js'
import { DEFAULT_LIKELIHOOD, type LikelihoodSettings } from '../../shared/anomaly/anomaly-likelihood.js'
import { MODEL_CARD_FORMAT, type ModelCard } from '../../shared/anomaly/model-card.js'
import { featureWidth } from '../../shared/anomaly/series-window.js'
import { seededRandom } from '../../shared/simulator/seeded-random.js'
import { forward, parameterCount, type DenseNetwork } from './dense-network.js'
import { exportOnnx } from './onnx-export.js'
import { SERIES_FAMILIES } from './training-series.js'
import { trainForecaster, type TrainingOptions, type TrainingResult } from './train-forecaster.js'

export const INPUT_NAME = 'window'
export const OUTPUT_NAME = 'forecast'
/** A gap of more than 10 typical intervals restarts a window (docs/formats/model-card.md). */
export const DEFAULT_GAP_RESET_FACTOR = 10

export interface WriteModelOptions {
  readonly outDir: string
  /** File base name: `<name>.onnx`, `<name>.card.json`. */
  readonly fileBase: string
  readonly modelName: string
  readonly version: string
  readonly training: TrainingOptions
  readonly likelihood?: LikelihoodSettings
  readonly onEpoch?: (epoch: number, loss: number) => void
}

export interface WrittenModel {
  readonly modelPath: string
  readonly cardPath: string
  readonly card: ModelCard
  readonly result: TrainingResult
}

export function trainAndWriteModel(options: WriteModelOptions): WrittenModel {
  const result = trainForecaster(options.training, options.onEpoch)
  const bytes = exportOnnx(result.network, {
    input: INPUT_NAME,
    output: OUTPUT_NAME,
    modelName: options.modelName,
    modelVersion: options.version,
    docString: 'CloudOS Lite next-value forecaster: normalised window in, normalised next value out (see the model card).',
  })
  const fileName = `${options.fileBase}.onnx`
  const card = buildCard(options, result, fileName, bytes)
  const outDir = resolve(options.outDir)
  const modelPath = join(outDir, fileName)
  const cardPath = join(outDir, `${options.fileBase}.card.json`)
  try {
    mkdirSync(outDir, { recursive: true })
    writeFileSync(modelPath, bytes)
    writeFileSync(cardPath, `${JSON.stringify(card, null, 2)}\n`)
  } catch (err) {
    throw new CloudosError('MODEL_ERR_TRAINING_FAILED', `cannot write the model to ${outDir}: ${(err as Error).message}`, { outDir })
  }
  return { modelPath, cardPath, card, result }
}

function buildCard(options: WriteModelOptions, result: TrainingResult, fileName: string, bytes: Uint8Array): ModelCard {
  const { training } = options
  return {
    format: MODEL_CARD_FORMAT,
    name: options.modelName,
    version: options.version,
    description:
      'Forecasts the next reading of any sensor from its last `window` readings (centred on their mean, divided by the series\' running scale); ' +
      'the anomaly score is the likelihood of the recent forecast errors against the series\' own error history.',
    file: fileName,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    task: 'next-value-forecast',
    input: { name: INPUT_NAME, shape: ['batch', featureWidth(training.window, training.seasonal !== undefined)], dtype: 'float32' },
    output: { name: OUTPUT_NAME, shape: ['batch', 1], dtype: 'float32' },
    window: training.window,
    ...(training.seasonal === undefined ? {} : { seasonal: { ...training.seasonal } }),
    normalisation: { ...training.normalisation },
    likelihood: { ...(options.likelihood ?? DEFAULT_LIKELIHOOD) },
    stream: { gapResetFactor: DEFAULT_GAP_RESET_FACTOR },
    training: {
      seed: training.seed,
      epochs: training.epochs,
      hiddenLayers: [...training.hidden],
      activation: 'tanh',
      parameters: parameterCount(result.network),
      optimiser: { name: 'adam', learningRate: training.learningRate, decay: 'linear to 20%', batchSize: training.batchSize },
      loss: 'huber (delta 1) on the normalised next value',
      data: {
        source: 'synthetic series generated from the seed (models/training/training-series.ts): the simulator\'s sensor kinds and generic families; no dataset files',
        families: [...SERIES_FAMILIES],
        series: training.seriesCount,
        seriesLength: training.seriesLength,
        windows: result.trainingSamples,
        validationWindows: result.validationSamples,
      },
      durationSeconds: Math.round(result.durationMs / 100) / 10,
    },
    metrics: {
      trainingLoss: round(result.epochLosses.at(-1) ?? Number.NaN),
      validationLoss: round(result.validationLoss),
      naiveLastValueValidationLoss: round(result.naiveValidationLoss),
    },
    referenceOutputs: referenceWindows(featureWidth(training.window, training.seasonal !== undefined)).map((input) => ({ input, output: [...forward(result.network, input)].map((x) => Math.fround(x)) })),
  }
}

/** Fixed input rows whose outputs the card records: flat, ramp, sine, step, noise. */
export function referenceWindows(window: number): number[][] {
  const noise = seededRandom(7)
  const f = (fn: (k: number) => number) => Array.from({ length: window }, (_, k) => Math.fround(fn(k)))
  return [
    f(() => 0),
    f((k) => -1 + (2 * k) / (window - 1)),
    f((k) => Math.sin((2 * Math.PI * k) / 16)),
    f((k) => (k < window / 2 ? -1 : 1)),
    f(() => noise.gaussian()),
  ]
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6
}

export type { DenseNetwork }
