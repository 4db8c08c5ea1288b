import { describe, expect, it } from 'vitest'
import type { AnomalyDetector, DetectorInput, ModelDescriptor, ModelRegistry } from '../../shared/anomaly/detector.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import type { AnomalyConfig } from '../../shared/config/edge-config-schema.js'
import { InferenceLoop, type ScoredInput } from '../../edge/inference/inference-loop.js'
import { CloudosError } from '../../shared/errors.js'

// A pure-TS stand-in for the model, to test the loop's own logic (batching,
// bounds, failures, switching); the real model is exercised in
// test/integration/edge-inference.test.ts.
class FakeDetector implements AnomalyDetector {
  readonly calls: number[] = []
  fail = false
  constructor(readonly model: ModelDescriptor) {}
  async scoreBatch(inputs: readonly DetectorInput[]): Promise<Float64Array> {
    this.calls.push(inputs.length)
    if (this.fail) throw new Error('boom')
    return Float64Array.from(inputs, (i) => i.value / 100)
  }
  forget(): void {}
  async close(): Promise<void> {}
}

class FakeRegistry implements ModelRegistry {
  detector: FakeDetector | undefined
  closed = false
  constructor(path: string) {
    this.detector = new FakeDetector(descriptor(path))
  }
  current() {
    return this.detector
  }
  async swap(path: string): Promise<ModelDescriptor> {
    if (path.includes('corrupt')) throw new CloudosError('MODEL_ERR_LOAD_FAILED', 'corrupt')
    this.detector = new FakeDetector(descriptor(path))
    return this.detector.model
  }
  async close(): Promise<void> {
    this.closed = true
    this.detector = undefined
  }
}

const descriptor = (path: string): ModelDescriptor => ({ name: 'fake', version: '1', path, sha256: 'x', window: 4 })
const anomaly = (a: Partial<AnomalyConfig> = {}): AnomalyConfig => loadEdgeConfig(undefined, { anomaly: a }).anomaly
const turn = () => new Promise((resolve) => setImmediate(resolve))

function harness(config: Partial<AnomalyConfig> = {}) {
  const registries: FakeRegistry[] = []
  const scored: Array<{ inputs: ScoredInput[]; scores: number[] }> = []
  const loop = new InferenceLoop({
    config: anomaly({ maxBusyShare: 1, ...config }),
    openRegistry: async (path) => {
      if (path?.includes('missing')) throw new CloudosError('MODEL_ERR_FILE_UNREADABLE', 'no such model')
      const r = new FakeRegistry(path ?? '/default.onnx')
      registries.push(r)
      return r
    },
    defaultModelPath: () => '/default.onnx',
    onScores: (inputs, scores) => scored.push({ inputs: [...inputs], scores: [...scores] }),
  })
  const offer = (n: number, from = 0) => {
    for (let i = 0; i < n; i++) loop.offer(`s-${(from + i) % 3}/m`, `s-${(from + i) % 3}`, 'm', from + i, from + i)
  }
  return { loop, registries, scored, offer, detector: () => registries.at(-1)!.detector! }
}

describe('inference loop (test double for the model)', () => {
  it('scores the readings of one event-loop turn in one model call, in order', async () => {
    const h = harness()
    await h.loop.start()
    h.offer(10)
    await turn()
    await turn()
    expect(h.detector().calls).toEqual([10])
    expect(h.scored[0]!.inputs.map((i) => i.ts)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(h.scored[0]!.scores[9]).toBeCloseTo(0.09)
    expect(h.loop.status()).toMatchObject({ ticks: 1, readingsScored: 10, readingsSkipped: 0, lastBatchSize: 10 })
  })

  it('splits a backlog into runs of at most maxBatchReadings and skips (counts) beyond maxPendingReadings', async () => {
    const h = harness({ maxBatchReadings: 4, maxPendingReadings: 10 })
    await h.loop.start()
    h.offer(13)
    for (let i = 0; i < 10; i++) await turn()
    expect(h.detector().calls).toEqual([4, 4, 2])
    expect(h.loop.status()).toMatchObject({ readingsScored: 10, readingsSkipped: 3, pending: 0 })
  })

  it('counts a failed run and keeps going', async () => {
    const h = harness()
    await h.loop.start()
    h.detector().fail = true
    h.offer(3)
    for (let i = 0; i < 3; i++) await turn()
    h.detector().fail = false
    h.offer(2, 3)
    for (let i = 0; i < 3; i++) await turn()
    expect(h.loop.status()).toMatchObject({ runFailures: 1, readingsScored: 2 })
    expect(h.scored).toHaveLength(1)
  })

  it('keeps running when the model cannot be loaded at start, and says why', async () => {
    const h = harness({ modelPath: '/missing.onnx' })
    await h.loop.start()
    expect(h.loop.active).toBe(false)
    expect(h.loop.status()).toMatchObject({ enabled: true, model: null, loadError: 'no such model' })
    await h.loop.swap('/good.onnx')
    expect(h.loop.active).toBe(true)
    expect(h.loop.status().loadError).toBeNull()
  })

  it('swaps models, refuses a bad one keeping the old, and follows config updates', async () => {
    const h = harness()
    await h.loop.start()
    await expect(h.loop.swap('/corrupt.onnx')).rejects.toMatchObject({ code: 'MODEL_ERR_LOAD_FAILED' })
    expect(h.loop.status().model?.path).toBe('/default.onnx')
    await h.loop.update(anomaly({ modelPath: '/other.onnx' }))
    expect(h.loop.status().model?.path).toBe('/other.onnx')
    await expect(h.loop.update(anomaly({ modelPath: '/corrupt.onnx' }))).rejects.toMatchObject({ code: 'MODEL_ERR_LOAD_FAILED' })
    expect(h.loop.status().model?.path).toBe('/other.onnx')
    await h.loop.update(anomaly({ enabled: false }))
    expect(h.loop.active).toBe(false)
    expect(h.registries[0]!.closed).toBe(true)
    await expect(h.loop.swap('/x.onnx')).rejects.toMatchObject({ code: 'INFERENCE_ERR_DISABLED' })
    await h.loop.update(anomaly({ enabled: true }))
    expect(h.loop.status().model?.path).toBe('/default.onnx')
    await h.loop.close()
  })
})
