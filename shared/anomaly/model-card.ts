/**
 * The model card: the JSON file beside an .onnx model that says what the
 * network expects and how the pipeline around it is set (window, normalisation,
 * likelihood), how it was trained, how well it scores, and a few reference
 * outputs that any runtime must reproduce. docs/formats/model-card.md is the
 * user-facing description; this schema is the one the edge validates against.
 */
import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { CloudosError } from '../errors.js'
import { featureWidth } from './series-window.js'

export const MODEL_CARD_FORMAT = 'cloudos-model-card/1'

const positiveInteger = (description: string) => Type.Integer({ minimum: 1, description })
const positiveNumber = (description: string) => Type.Number({ exclusiveMinimum: 0, description })

const TensorSpec = Type.Object({
  name: Type.String({ minLength: 1 }),
  /** First dimension is the symbolic batch dimension ("batch"), then fixed sizes. */
  shape: Type.Tuple([Type.Literal('batch'), Type.Integer({ minimum: 1 })]),
  dtype: Type.Literal('float32'),
})

export const ModelCardSchema = Type.Object({
  format: Type.Literal(MODEL_CARD_FORMAT),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  description: Type.String(),
  /** The .onnx file, relative to the card's folder. */
  file: Type.String({ minLength: 1 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  task: Type.Literal('next-value-forecast'),
  input: TensorSpec,
  output: TensorSpec,
  window: Type.Integer({ minimum: 2, maximum: 4096 }),
  /** Time-of-day context (shared/anomaly/seasonal-profile.ts); absent: the input is the window only. */
  seasonal: Type.Optional(
    Type.Object({
      periodMs: Type.Integer({ minimum: 60_000, description: 'cycle length, ms' }),
      bins: Type.Integer({ minimum: 1, maximum: 100_000, description: 'slots per cycle' }),
      smoothing: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'weight of a new reading in its slot' }),
    }),
  ),
  normalisation: Type.Object({
    scaleHorizon: positiveInteger('readings over which the running scale settles'),
    clip: positiveNumber('normalised values are clipped to +/- clip'),
    relativeScaleFloor: Type.Number({ minimum: 0 }),
    absoluteScaleFloor: positiveNumber('smallest scale'),
  }),
  likelihood: Type.Object({
    learningPeriod: Type.Integer({ minimum: 0 }),
    historyHorizon: positiveInteger('readings over which the error distribution is learnt'),
    shortWindow: positiveInteger('errors averaged into the recent error'),
    tailDecades: positiveNumber('score 1 means a tail probability of 10^-tailDecades'),
    minimumSpread: Type.Number({ minimum: 0 }),
    detectionLevel: Type.Number({ minimum: 0, maximum: 1 }),
    suppressionPeriod: Type.Integer({ minimum: 0 }),
    suppressionFactor: Type.Number({ minimum: 0, maximum: 1 }),
    longWindow: Type.Optional(Type.Integer({ minimum: 0, description: 'a second likelihood over the mean of this many errors; 0 or absent: off' })),
    outlierClip: Type.Optional(Type.Number({ minimum: 0, description: 'long-run learning caps a recent error at mean + outlierClip spreads; 0 or absent: off' })),
    spatialMargin: Type.Optional(Type.Number({ minimum: 0, description: 'a value beyond the range so far by this share of it scores 1; 0 or absent: off' })),
    spatialWarmup: Type.Optional(Type.Integer({ minimum: 0, description: 'readings before the range check starts (absent: learningPeriod)' })),
    recurrenceBins: Type.Optional(Type.Integer({ minimum: 0, description: 'time-of-day slots either side searched for an earlier high score; 0 or absent: off' })),
    recurrenceDecay: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'decay of a remembered score per visit of its slot (absent: 1)' })),
  }),
  stream: Type.Object({
    /** A gap longer than this many typical reading intervals restarts the window. */
    gapResetFactor: positiveNumber('gap that restarts a window, in typical intervals'),
  }),
  training: Type.Record(Type.String(), Type.Unknown()),
  metrics: Type.Record(Type.String(), Type.Unknown()),
  referenceOutputs: Type.Array(
    Type.Object({ input: Type.Array(Type.Number()), output: Type.Array(Type.Number()) }),
  ),
})

export type ModelCard = Static<typeof ModelCardSchema>

/** Parses and validates a card's text; `source` names it in errors. */
export function parseModelCard(text: string, source: string): ModelCard {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new CloudosError('MODEL_ERR_CARD_INVALID', `model card ${source} is not valid JSON: ${(err as Error).message}`, { card: source })
  }
  if (!Value.Check(ModelCardSchema, json)) {
    const problems = [...Value.Errors(ModelCardSchema, json)].slice(0, 5).map((e) => `${e.path || '(root)'}: ${e.message}`)
    throw new CloudosError('MODEL_ERR_CARD_INVALID', `model card ${source} is invalid: ${problems.join('; ')}`, { card: source, problems })
  }
  const card = json as ModelCard
  const width = featureWidth(card.window, card.seasonal !== undefined)
  if (card.input.shape[1] !== width) {
    throw new CloudosError('MODEL_ERR_CARD_INVALID', `model card ${source}: input.shape[1] (${card.input.shape[1]}) must be ${width} for window ${card.window}${card.seasonal ? ' with seasonal context (2 x window + 2)' : ''}`, { card: source })
  }
  for (const [k, ref] of card.referenceOutputs.entries()) {
    if (ref.input.length !== width || ref.output.length !== card.output.shape[1]) {
      throw new CloudosError('MODEL_ERR_CARD_INVALID', `model card ${source}: referenceOutputs[${k}] has the wrong length`, { card: source })
    }
  }
  return card
}

export function readModelCard(path: string): ModelCard {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CloudosError('MODEL_ERR_FILE_UNREADABLE', `cannot read model card ${path}: ${(err as Error).message}`, { card: path })
  }
  return parseModelCard(text, path)
}

/** The card of a model: `x.onnx` has its card at `x.card.json`. */
export function cardPathFor(modelPath: string): string {
  return modelPath.endsWith('.card.json') ? modelPath : `${modelPath.replace(/\.onnx$/i, '')}.card.json`
}
