import type { Logger } from '../../shared/log/logger.js'
import type { ModelRegistry } from '../../shared/anomaly/detector.js'

/** How the edge gets at the anomaly model (shared/anomaly/index.ts). */
export interface ModelSource {
  openModelRegistry(options: { modelPath?: string; logger?: Logger }): Promise<ModelRegistry>
  defaultModelPath(): string
}

/** Loaded only when inference is on: onnxruntime-node is resident memory an edge without inference should not pay for. */
export async function loadModelSource(): Promise<ModelSource> {
  return import('../../shared/anomaly/index.js')
}
