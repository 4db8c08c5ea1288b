import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDetector } from '../../shared/anomaly/index.js'
import { readModelCard } from '../../shared/anomaly/model-card.js'
import { runCli } from '../helpers/processes.js'
import { useTempDir } from '../helpers/temp-dir.js'

describe('cloudos model train (built CLI)', () => {
  it('trains a quick model, writes the .onnx and its card, and the detector loads them', async () => {
    const out = useTempDir()
    const result = await runCli(['model', 'train', '--quick', '--seed', '11', '--out', out, '--name', 'cli-model-v1'], { timeoutMs: 120_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('model train: wrote')
    const modelPath = join(out, 'cli-model-v1.onnx')
    expect(existsSync(modelPath)).toBe(true)
    const card = readModelCard(join(out, 'cli-model-v1.card.json'))
    expect(card.training).toMatchObject({ seed: 11, epochs: 1 })
    const detector = await createDetector(modelPath)
    try {
      expect(detector.model.name).toBe('cli-model')
    } finally {
      await detector.close()
    }
  })

  it('refuses a bad flag with the flag named', async () => {
    const result = await runCli(['model', 'train', '--epochs', '0'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('--epochs')
  })
})
