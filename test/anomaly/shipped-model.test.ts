import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { createDetector, defaultModelPath, readModelCard } from '../../shared/anomaly/index.js'
import { cardPathFor } from '../../shared/anomaly/model-card.js'
import { featureWidth } from '../../shared/anomaly/series-window.js'
import { DEFAULT_LIKELIHOOD } from '../../shared/anomaly/anomaly-likelihood.js'
import { DEFAULT_TRAINING } from '../../models/training/train-forecaster.js'

describe('the shipped default model', () => {
  const modelPath = defaultModelPath()
  const card = readModelCard(cardPathFor(modelPath))

  it('is in models/ with a card that matches the file', () => {
    expect(existsSync(modelPath)).toBe(true)
    expect(createHash('sha256').update(readFileSync(modelPath)).digest('hex')).toBe(card.sha256)
    expect(card.input).toEqual({ name: 'window', shape: ['batch', featureWidth(card.window, card.seasonal !== undefined)], dtype: 'float32' })
    expect(card.seasonal).toEqual({ periodMs: 86_400_000, bins: 288, smoothing: 0.5 })
    expect(card.output).toEqual({ name: 'forecast', shape: ['batch', 1], dtype: 'float32' })
    expect(card.referenceOutputs.length).toBeGreaterThanOrEqual(3)
    expect(card.training).toHaveProperty('seed')
  })

  it('carries the pipeline settings `cloudos model train` writes, so retraining with its seed reproduces the card', () => {
    expect(card.likelihood).toEqual(DEFAULT_LIKELIHOOD)
    expect(card.normalisation).toEqual(DEFAULT_TRAINING.normalisation)
    expect(card.seasonal).toEqual(DEFAULT_TRAINING.seasonal)
    expect(card.window).toBe(DEFAULT_TRAINING.window)
    expect(card.training).toMatchObject({ seed: DEFAULT_TRAINING.seed, epochs: DEFAULT_TRAINING.epochs, hiddenLayers: DEFAULT_TRAINING.hidden })
  })

  it('loads in onnxruntime-node and reproduces the outputs recorded in its card (within 1e-5), in one batched run', async () => {
    const session = await ort.InferenceSession.create(modelPath)
    try {
      const rows = card.referenceOutputs.length
      const width = card.input.shape[1]
      const windows = new Float32Array(rows * width)
      card.referenceOutputs.forEach((ref, k) => windows.set(ref.input, k * width))
      const out = (await session.run({ window: new ort.Tensor('float32', windows, [rows, width]) })).forecast
      expect(out?.dims).toEqual([rows, 1])
      card.referenceOutputs.forEach((ref, k) => expect(Math.abs((out?.data[k] as number) - (ref.output[0] as number))).toBeLessThan(1e-5))
    } finally {
      await session.release()
    }
  })

  it('flags a level shift on a sensor it never saw, and stays quiet on the same sensor without it', async () => {
    const detector = await createDetector(modelPath)
    try {
      // A noisy daily-cycle sensor at 5-minute resolution (288 readings a day), three days, then a jump.
      const series = (jump: boolean) =>
        Array.from({ length: 1200 }, (_, t) => ({
          seriesKey: jump ? 'site/with-jump' : 'site/without',
          ts: t * 300_000,
          value: 40 + 10 * Math.sin((2 * Math.PI * t) / 288) + Math.sin(t * 12.9898) * 0.8 + (jump && t >= 1000 ? 25 : 0),
        }))
      const withJump = await detector.scoreBatch(series(true))
      const without = await detector.scoreBatch(series(false))
      const peakAfter = Math.max(...withJump.slice(1000, 1010))
      const quietMax = Math.max(...without.slice(card.likelihood.learningPeriod + card.window + 50))
      expect(peakAfter).toBeGreaterThan(0.5)
      expect(quietMax).toBeLessThan(peakAfter)
    } finally {
      await detector.close()
    }
  })
})
