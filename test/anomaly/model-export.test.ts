import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../shared/simulator/seeded-random.js'
import { forward } from '../../models/training/dense-network.js'
import { trainForecaster } from '../../models/training/train-forecaster.js'
import { exportOnnx } from '../../models/training/onnx-export.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { TINY_TRAINING, writeTinyModel } from './tiny-model.js'
import { featureWidth } from '../../shared/anomaly/series-window.js'

const width = featureWidth(TINY_TRAINING.window, TINY_TRAINING.seasonal !== undefined)

describe('ONNX export round trip', () => {
  it('onnxruntime-node gives the TypeScript forward pass\'s outputs (within 1e-5) for a batch of windows', async () => {
    const trained = trainForecaster({ ...TINY_TRAINING, hidden: [12, 6] })
    const bytes = exportOnnx(trained.network, { input: 'window', output: 'forecast', modelName: 'tiny', modelVersion: '0' })
    const session = await ort.InferenceSession.create(bytes)
    try {
      expect(session.inputNames).toEqual(['window'])
      expect(session.outputNames).toEqual(['forecast'])
      const random = seededRandom(99)
      const rows = 50
      const windows = Float32Array.from({ length: rows * width }, () => 3 * random.gaussian())
      const out = (await session.run({ window: new ort.Tensor('float32', windows, [rows, width]) })).forecast
      expect(out?.dims).toEqual([rows, 1])
      for (let r = 0; r < rows; r++) {
        const expected = forward(trained.network, windows.subarray(r * width, (r + 1) * width))[0] as number
        expect(Math.abs((out?.data[r] as number) - expected)).toBeLessThan(1e-5)
      }
    } finally {
      await session.release()
    }
  })

  it('exports relu and linear layers too, with a dynamic batch dimension', async () => {
    const trained = trainForecaster({ ...TINY_TRAINING, hidden: [5] })
    const layers = trained.network.layers.map((layer, k) => (k === 0 ? { ...layer, activation: 'relu' as const } : layer))
    const network = { layers }
    const session = await ort.InferenceSession.create(exportOnnx(network, { input: 'x', output: 'y', modelName: 'relu', modelVersion: '0' }))
    try {
      for (const rows of [1, 7]) {
        const windows = Float32Array.from({ length: rows * width }, (_, k) => Math.sin(k))
        const out = (await session.run({ x: new ort.Tensor('float32', windows, [rows, width]) })).y
        expect(out?.dims).toEqual([rows, 1])
        const expected = forward(network, windows.subarray(0, width))[0] as number
        expect(Math.abs((out?.data[0] as number) - expected)).toBeLessThan(1e-5)
      }
    } finally {
      await session.release()
    }
  })
})

describe('training reproducibility', () => {
  it('writes byte-identical model files for the same seed, and different ones for another seed', () => {
    const dir = useTempDir()
    const a = writeTinyModel(join(dir, 'a'), 'tiny')
    const b = writeTinyModel(join(dir, 'b'), 'tiny')
    const c = writeTinyModel(join(dir, 'c'), 'tiny', { seed: TINY_TRAINING.seed + 1 })
    expect(readFileSync(a.modelPath).equals(readFileSync(b.modelPath))).toBe(true)
    expect(a.card.sha256).toBe(b.card.sha256)
    expect(a.card.referenceOutputs).toEqual(b.card.referenceOutputs)
    expect(readFileSync(a.modelPath).equals(readFileSync(c.modelPath))).toBe(false)
  })

  it('learns: its loss falls over epochs and stays finite', () => {
    const result = trainForecaster({ ...TINY_TRAINING, epochs: 3 })
    expect(result.epochLosses).toHaveLength(3)
    expect(result.epochLosses[2]).toBeLessThan(result.epochLosses[0] as number)
    for (const loss of result.epochLosses) expect(Number.isFinite(loss)).toBe(true)
  })
})
