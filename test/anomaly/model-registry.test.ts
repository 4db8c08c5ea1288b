import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AnomalyDetector, DetectorInput } from '../../shared/anomaly/detector.js'
import { createDetector, openModelRegistry } from '../../shared/anomaly/index.js'
import { isCloudosError } from '../../shared/errors.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { TINY_TRAINING, writeTinyModel } from './tiny-model.js'
import type { WrittenModel } from '../../models/training/write-model.js'

let dir: TempDir
let modelA: WrittenModel
let modelB: WrittenModel

beforeAll(() => {
  dir = makeTempDir('cloudos-registry-')
  modelA = writeTinyModel(join(dir.path, 'a'), 'tiny-a')
  modelB = writeTinyModel(join(dir.path, 'b'), 'tiny-b', { seed: 4242 })
})
afterAll(() => dir.remove())

function readings(key: string, from: number, count: number): DetectorInput[] {
  return Array.from({ length: count }, (_, k) => ({ seriesKey: key, ts: (from + k) * 1000, value: Math.sin((from + k) / 4) }))
}

let checks = 0
/** The detector still works: a fresh series fills its window, then scores in 0..1. */
async function expectScores(detector: AnomalyDetector): Promise<void> {
  const scores = await detector.scoreBatch(readings(`check-${checks++}/m`, 0, TINY_TRAINING.window + 5))
  expect(scores.slice(TINY_TRAINING.window).every((s) => s >= 0 && s <= 1)).toBe(true)
}

/** A model file and card pair with something wrong, written beside the good ones. */
function variant(name: string, onnx: Buffer, card: Record<string, unknown>): string {
  const modelPath = join(dir.path, `${name}.onnx`)
  writeFileSync(modelPath, onnx)
  writeFileSync(join(dir.path, `${name}.card.json`), JSON.stringify({ ...card, file: `${name}.onnx` }))
  return modelPath
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(isCloudosError(err), String(err)).toBe(true)
  return (err as { code: string }).code
}

describe('model registry', () => {
  it('loads, swaps atomically, and refuses every kind of bad model while the current one keeps scoring', async () => {
    const registry = await openModelRegistry({ modelPath: modelA.modelPath })
    try {
      const first = registry.current()
      expect(first?.model).toMatchObject({ name: 'tiny-a', sha256: modelA.card.sha256, window: TINY_TRAINING.window })
      await expectScores(first!)

      const goodBytes = readFileSync(modelA.modelPath)
      const corrupt = Buffer.from(goodBytes)
      corrupt.fill(0x5a, 20, 200)
      const { createHash } = await import('node:crypto')
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

      const wrongInputName = writeTinyModel(join(dir.path, 'wrong-input'), 'wrong-input')
      const renamedCard = { ...wrongInputName.card, input: { ...wrongInputName.card.input, name: 'values' } }
      const narrow = writeTinyModel(join(dir.path, 'narrow'), 'narrow', { window: 8 })
      // A card that claims the shipped window for a network built for a narrower one.
      const widenedCard = { ...narrow.card, window: modelA.card.window, input: modelA.card.input, referenceOutputs: [] }

      const bad: Array<[string, string, string]> = [
        ['missing file', join(dir.path, 'nope.onnx'), 'MODEL_ERR_FILE_UNREADABLE'],
        ['corrupt file (card sha matches it)', variant('corrupt', corrupt, { ...modelA.card, sha256: sha(corrupt) }), 'MODEL_ERR_LOAD_FAILED'],
        ['truncated file', variant('truncated', goodBytes.subarray(0, 100), { ...modelA.card, sha256: sha(goodBytes.subarray(0, 100)) }), 'MODEL_ERR_LOAD_FAILED'],
        ['card sha256 of another file', variant('other-sha', goodBytes, { ...modelA.card, sha256: modelB.card.sha256 }), 'MODEL_ERR_CARD_MISMATCH'],
        ['wrong input name', variant('wrong-name', readFileSync(wrongInputName.modelPath), renamedCard), 'MODEL_ERR_CARD_MISMATCH'],
        ['wrong input shape', variant('wrong-shape', readFileSync(narrow.modelPath), widenedCard), 'MODEL_ERR_CARD_MISMATCH'],
        ['reference outputs of another model', variant('wrong-reference', goodBytes, { ...modelA.card, referenceOutputs: modelB.card.referenceOutputs }), 'MODEL_ERR_CARD_MISMATCH'],
        ['card missing a field', variant('no-window', goodBytes, { ...modelA.card, window: undefined }), 'MODEL_ERR_CARD_INVALID'],
      ]
      const notJson = variant('not-json', goodBytes, modelA.card)
      writeFileSync(notJson.replace(/\.onnx$/, '.card.json'), '{"format": ')
      bad.push(['card not JSON', notJson, 'MODEL_ERR_CARD_INVALID'])
      const noCard = join(dir.path, 'no-card.onnx')
      copyFileSync(modelA.modelPath, noCard)
      bad.push(['no card beside the model', noCard, 'MODEL_ERR_FILE_UNREADABLE'])

      for (const [what, path, code] of bad) {
        expect(await refusal(registry.swap(path)), what).toBe(code)
        expect(registry.current(), what).toBe(first)
        await expectScores(first!)
      }

      // A good model (given by its card path) replaces the current one; the old one is released.
      const descriptor = await registry.swap(modelB.cardPath)
      expect(descriptor).toMatchObject({ name: 'tiny-b', sha256: modelB.card.sha256, path: modelB.modelPath })
      expect(registry.current()).not.toBe(first)
      await expectScores(registry.current()!)
      expect(await refusal(first!.scoreBatch(readings('s/m', 100, 1)))).toBe('MODEL_ERR_INFERENCE_FAILED')
    } finally {
      await registry.close()
    }
    expect(registry.current()).toBeUndefined()
  })

  it('keeps scoring through a swap started while batches are being scored', async () => {
    const registry = await openModelRegistry({ modelPath: modelA.modelPath })
    try {
      const scored: Promise<Float64Array>[] = []
      const swapped = registry.swap(modelB.modelPath)
      for (let k = 0; k < 20; k++) scored.push(registry.current()!.scoreBatch(readings('s/m', k * 3, 3)))
      await swapped
      // Every batch handed to the old detector before the switch completes.
      const results = await Promise.all(scored)
      expect(results.every((r) => r.length === 3)).toBe(true)
      expect(registry.current()?.model.name).toBe('tiny-b')
    } finally {
      await registry.close()
    }
  })
})

describe('detector', () => {
  it('scores many series in one call exactly as it scores them one reading at a time', async () => {
    const batched = await createDetector(modelA.modelPath)
    const single = await createDetector(modelA.modelPath)
    try {
      const inputs: DetectorInput[] = []
      for (let t = 0; t < 300; t++) {
        for (const key of ['a/x', 'b/x', 'c/x']) {
          const value = key === 'b/x' && t === 250 ? 40 : Math.sin(t / (key === 'a/x' ? 3 : 7)) + (key === 'c/x' ? t / 50 : 0)
          inputs.push({ seriesKey: key, ts: t * 60_000, value })
        }
      }
      inputs.push({ seriesKey: 'a/x', ts: 300 * 60_000, value: Number.NaN })
      inputs.push({ seriesKey: 'a/x', ts: 301 * 60_000, value: Number.POSITIVE_INFINITY })
      inputs.push({ seriesKey: 'a/x', ts: 10 * 60_000, value: 1 })
      const all = await batched.scoreBatch(inputs)
      const oneByOne: number[] = []
      for (const input of inputs) oneByOne.push((await single.scoreBatch([input]))[0] as number)
      expect([...all]).toEqual(oneByOne)
      const window = TINY_TRAINING.window
      // NaN while each window fills (window readings per series), numbers after.
      expect(all.slice(0, 3 * window).every(Number.isNaN)).toBe(true)
      expect(all.slice(3 * window, 900).every((s) => s >= 0 && s <= 1)).toBe(true)
      // NaN, Infinity and a late reading score NaN and leave the series as it was.
      expect([...all.slice(900)].every(Number.isNaN)).toBe(true)
      // The spike in b/x stands out of b/x's own scores.
      const bScores = inputs.map((input, k) => [input, all[k] as number] as const).filter(([input]) => input.seriesKey === 'b/x')
      const spike = bScores.find(([input]) => input.ts === 250 * 60_000)?.[1] as number
      const others = bScores.filter(([input]) => input.ts < 250 * 60_000 && input.ts >= 200 * 60_000).map(([, s]) => s)
      expect(spike).toBeGreaterThan(Math.max(...others))
      batched.forget('b/x')
      expect(Number.isNaN((await batched.scoreBatch([{ seriesKey: 'b/x', ts: 400 * 60_000, value: 1 }]))[0])).toBe(true)
    } finally {
      await batched.close()
      await single.close()
    }
  })
})
