import type { Logger } from '../../shared/log/logger.js'
import type { ModelRegistry } from '../anomaly/detector.js'

/** How the edge gets at the anomaly model (edge/anomaly/index.ts); loaded only when inference is on. */
export interface ModelSource {
  openModelRegistry(options: { modelPath?: string; logger?: Logger }): Promise<ModelRegistry>
  defaultModelPath(): string
}

export async function loadModelSource(): Promise<ModelSource> {
  // TODO(merge feat/model): a static `import('../anomaly/index.js')` once that module exists on this branch.
  const modulePath = '../anomaly/index.js'
  return (await import(modulePath)) as ModelSource
}
