/**
 * The {@link ModelRegistry}: one current detector, swapped atomically. A new
 * model is loaded, validated and warmed completely before it replaces the
 * current one; if any step fails the error is thrown and the current detector
 * is untouched. The replaced detector finishes the call it is running, then
 * its session is released.
 *
 * A new detector starts with empty per-series state: its windows refill and its
 * error statistics are relearnt, because another model's errors are on another
 * scale.
 */
import { silentLogger, type Logger } from '../log/logger.js'
import type { AnomalyDetector, ModelDescriptor, ModelRegistry } from './detector.js'
import { loadModel } from './load-model.js'

export class OnnxModelRegistry implements ModelRegistry {
  readonly #logger: Logger
  #current: AnomalyDetector | undefined
  #swapping: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(logger: Logger = silentLogger) {
    this.#logger = logger
  }

  current(): AnomalyDetector | undefined {
    return this.#current
  }

  swap(modelPath: string): Promise<ModelDescriptor> {
    // Swaps run one at a time, in the order asked.
    const run = this.#swapping.then(() => this.#swap(modelPath))
    this.#swapping = run.catch(() => undefined)
    return run
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#swapping
    const current = this.#current
    this.#current = undefined
    await current?.close()
  }

  async #swap(modelPath: string): Promise<ModelDescriptor> {
    let loaded
    try {
      loaded = await loadModel(modelPath)
    } catch (err) {
      this.#logger.warn('model refused; the current model keeps running', {
        path: modelPath,
        code: (err as { code?: string }).code,
        error: (err as Error).message,
        current: this.#current?.model.name,
      })
      throw err
    }
    if (this.#closed) {
      await loaded.detector.close()
      throw new Error('model registry is closed')
    }
    const previous = this.#current
    this.#current = loaded.detector
    this.#logger.info('model loaded', { name: loaded.card.name, version: loaded.card.version, sha256: loaded.detector.model.sha256, path: loaded.detector.model.path })
    await previous?.close()
    return loaded.detector.model
  }
}
