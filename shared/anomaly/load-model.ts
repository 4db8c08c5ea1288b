/**
 * Loads a model and its card into a ready {@link OnnxDetector}: read both,
 * check the file's sha256 against the card, open an onnxruntime session,
 * check the graph's input and output names and shapes against the card, then
 * warm it with the card's reference windows and check the outputs match.
 * Anything wrong is a CloudosError (MODEL_ERR_*) and nothing stays open.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type * as Ort from 'onnxruntime-node'
import { CloudosError } from '../errors.js'
import type { ModelDescriptor } from './detector.js'
import { cardPathFor, readModelCard, type ModelCard } from './model-card.js'
import { OnnxDetector } from './onnx-detector.js'

/** How far a runtime may differ from the card's reference outputs (float32 arithmetic, other kernels). */
export const REFERENCE_TOLERANCE = 1e-4

export interface LoadedModel {
  readonly detector: OnnxDetector
  readonly card: ModelCard
  readonly cardPath: string
}

/** `path` is the .onnx file (its card beside it as .card.json) or the card itself. */
export function resolveModelFiles(path: string): { modelPath: string; cardPath: string; card: ModelCard } {
  const absolute = resolve(path)
  const cardPath = cardPathFor(absolute)
  const card = readModelCard(cardPath)
  const modelPath = absolute.endsWith('.card.json') ? resolve(dirname(cardPath), card.file) : absolute
  return { modelPath, cardPath, card }
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const { modelPath, cardPath, card } = resolveModelFiles(path)
  let bytes: Buffer
  try {
    bytes = readFileSync(modelPath)
  } catch (err) {
    throw new CloudosError('MODEL_ERR_FILE_UNREADABLE', `cannot read model ${modelPath}: ${(err as Error).message}`, { model: modelPath })
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== card.sha256) {
    throw new CloudosError('MODEL_ERR_CARD_MISMATCH', `model ${modelPath} has sha256 ${sha256} but its card ${cardPath} says ${card.sha256}`, { model: modelPath, card: cardPath })
  }
  const ort = await import('onnxruntime-node')
  let session: Ort.InferenceSession
  try {
    // One thread: the network is tiny, and the edge shares its cores with ingest.
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' })
  } catch (err) {
    throw new CloudosError('MODEL_ERR_LOAD_FAILED', `onnxruntime cannot load ${modelPath}: ${(err as Error).message}`, { model: modelPath })
  }
  try {
    checkSignature(session, card, modelPath)
    const model: ModelDescriptor = { name: card.name, version: card.version, path: modelPath, sha256, window: card.window }
    const detector = new OnnxDetector({
      ort,
      session,
      model,
      inputName: card.input.name,
      outputName: card.output.name,
      outputWidth: card.output.shape[1],
      inputWidth: card.input.shape[1],
      pipeline: {
        window: card.window,
        normalisation: card.normalisation,
        likelihood: card.likelihood,
        gapResetFactor: card.stream.gapResetFactor,
        seasonal: card.seasonal,
      },
    })
    await warm(detector, card, modelPath)
    return { detector, card, cardPath }
  } catch (err) {
    await session.release().catch(() => undefined)
    throw err
  }
}

function checkSignature(session: Ort.InferenceSession, card: ModelCard, modelPath: string): void {
  const mismatch = (what: string) => new CloudosError('MODEL_ERR_CARD_MISMATCH', `model ${modelPath} does not match its card: ${what}`, { model: modelPath })
  if (session.inputNames.length !== 1 || session.inputNames[0] !== card.input.name) {
    throw mismatch(`the card's input is "${card.input.name}", the model's inputs are [${session.inputNames.join(', ')}]`)
  }
  if (!session.outputNames.includes(card.output.name)) {
    throw mismatch(`the card's output is "${card.output.name}", the model's outputs are [${session.outputNames.join(', ')}]`)
  }
  const check = (meta: Ort.InferenceSession.ValueMetadata | undefined, spec: ModelCard['input'], role: string) => {
    if (meta === undefined || !meta.isTensor) throw mismatch(`the ${role} "${spec.name}" is not a tensor`)
    if (meta.type !== 'float32') throw mismatch(`the ${role} "${spec.name}" is ${meta.type}, the card says float32`)
    const [batch, width] = meta.shape
    // The batch dimension must be symbolic (or absent from the metadata): the edge batches any number of series.
    if (meta.shape.length !== 2 || typeof batch === 'number' || width !== spec.shape[1]) {
      throw mismatch(`the ${role} "${spec.name}" has shape [${meta.shape.join(', ')}], the card says [batch, ${spec.shape[1]}]`)
    }
  }
  check(session.inputMetadata.find((m) => m.name === card.input.name), card.input, 'input')
  check(session.outputMetadata.find((m) => m.name === card.output.name), card.output, 'output')
}

/** One run over the card's reference windows (or one window of zeros): it must succeed and reproduce the card. */
async function warm(detector: OnnxDetector, card: ModelCard, modelPath: string): Promise<void> {
  const width = card.input.shape[1]
  const references = card.referenceOutputs.length > 0 ? card.referenceOutputs : [{ input: new Array<number>(width).fill(0), output: undefined }]
  const windows = new Float32Array(references.length * width)
  references.forEach((ref, k) => windows.set(ref.input, k * width))
  const outputs = await detector.forecast(windows, references.length)
  const outputWidth = card.output.shape[1]
  references.forEach((ref, k) => {
    for (let j = 0; j < outputWidth; j++) {
      const got = outputs[k * outputWidth + j] as number
      if (!Number.isFinite(got)) {
        throw new CloudosError('MODEL_ERR_INFERENCE_FAILED', `model ${modelPath} gives a non-finite output for reference window ${k}`, { model: modelPath })
      }
      const expected = ref.output?.[j]
      if (expected !== undefined && Math.abs(got - expected) > REFERENCE_TOLERANCE) {
        throw new CloudosError('MODEL_ERR_CARD_MISMATCH', `model ${modelPath} gives ${got} for reference window ${k}, its card records ${expected}`, { model: modelPath })
      }
    }
  })
}
