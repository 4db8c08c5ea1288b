/**
 * The anomaly detector's public entry points: the edge inference loop opens a
 * registry, `cloudos detect` and `cloudos model eval` create one detector.
 */
import { join } from 'node:path'
import { packageRoot } from '../package-root.js'
import type { Logger } from '../log/logger.js'
import type { AnomalyDetector, ModelRegistry } from './detector.js'
import { loadModel } from './load-model.js'
import { OnnxModelRegistry } from './model-registry.js'

export type { AnomalyDetector, DetectorInput, ModelDescriptor, ModelRegistry } from './detector.js'
export { MODEL_CARD_FORMAT, parseModelCard, readModelCard, type ModelCard } from './model-card.js'

/** The model shipped with CloudOS Lite. */
export const DEFAULT_MODEL_FILE = 'cloudos-forecaster-v1.onnx'

/** models/<default>.onnx inside this installation. */
export function defaultModelPath(): string {
  return join(packageRoot(), 'models', DEFAULT_MODEL_FILE)
}

/** Loads, validates and warms the model (the shipped one by default) into a registry that can swap it later. */
export async function openModelRegistry(options: { modelPath?: string; logger?: Logger } = {}): Promise<ModelRegistry> {
  const registry = new OnnxModelRegistry(options.logger)
  await registry.swap(options.modelPath ?? defaultModelPath())
  return registry
}

/** One detector over the model at `modelPath` (an .onnx with its card beside it, or the card). */
export async function createDetector(modelPath: string = defaultModelPath()): Promise<AnomalyDetector> {
  return (await loadModel(modelPath)).detector
}
