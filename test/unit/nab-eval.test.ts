import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AnomalyDetector, DetectorInput } from '../../shared/anomaly/detector.js'
import { evaluateNab } from '../../models/backtest/nab-eval.js'
import { formatNabReport } from '../../models/backtest/nab-report-table.js'
import { useTempDir } from '../helpers/temp-dir.js'

/**
 * A stand-in detector for the evaluation's own logic (the real model runs in
 * test/integration/model-eval-nab.test.ts): per series, the distance of a
 * value from the mean of the series so far, in standard deviations, / 10,
 * capped at 1; NaN for a series' first 10 readings.
 */
class ZScoreDetector implements AnomalyDetector {
  readonly model = { name: 'zscore', version: '1', path: '/dev/null', sha256: 'f'.repeat(64), window: 10 }
  readonly #series = new Map<string, { n: number; mean: number; m2: number }>()
  readonly seen = new Set<string>()
  closed = false

  async scoreBatch(inputs: readonly DetectorInput[]): Promise<Float64Array> {
    return Float64Array.from(inputs, ({ seriesKey, value }) => {
      this.seen.add(seriesKey)
      const s = this.#series.get(seriesKey) ?? { n: 0, mean: 0, m2: 0 }
      this.#series.set(seriesKey, s)
      const sd = s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0
      const score = s.n < 10 ? NaN : Math.min(1, Math.abs(value - s.mean) / (sd || 1) / 10)
      s.n++
      const delta = value - s.mean
      s.mean += delta / s.n
      s.m2 += delta * (value - s.mean)
      return score
    })
  }

  forget(seriesKey: string): void {
    this.#series.delete(seriesKey)
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

const MINUTE = 60_000
const T0 = Date.UTC(2014, 3, 1)

function stamp(row: number): string {
  return new Date(T0 + row * MINUTE).toISOString().replace('T', ' ').slice(0, 19)
}

/** 200 one-minute rows of a gentle wave; `spikeAt` holds 100 instead. */
function series(spikeAt?: number): string {
  const rows = Array.from({ length: 200 }, (_, i) => `${stamp(i)},${i === spikeAt ? 100 : (10 + Math.sin(i / 7)).toFixed(3)}`)
  return `timestamp,value\n${rows.join('\n')}\n`
}

function buildCorpus(root: string): void {
  mkdirSync(join(root, 'data', 'synthetic'), { recursive: true })
  mkdirSync(join(root, 'labels'))
  writeFileSync(join(root, 'data', 'synthetic', 'spike.csv'), series(150))
  writeFileSync(join(root, 'data', 'synthetic', 'calm.csv'), series())
  // The spike's window: rows 145..160 (16 rows). No profiles.json: NAB's defaults apply.
  writeFileSync(
    join(root, 'labels', 'combined_windows.json'),
    JSON.stringify({ 'synthetic/spike.csv': [[`${stamp(145)}.000000`, `${stamp(160)}.000000`]], 'synthetic/calm.csv': [], 'other/absent.csv': [] }),
  )
}

describe('evaluateNab (in this process, stand-in detector)', () => {
  it('runs every file through one detector, a series each, and scores with NAB\'s rules', async () => {
    const dir = useTempDir()
    buildCorpus(join(dir, 'nab'))
    const detector = new ZScoreDetector()
    // The results go to a temporary folder under os.tmpdir(): point it here to see that it is removed.
    const scratch = join(dir, 'tmp')
    mkdirSync(scratch)
    const savedTmp = process.env.TMPDIR
    process.env.TMPDIR = scratch
    let report
    try {
      expect(tmpdir()).toBe(scratch)
      report = await evaluateNab({ dir: join(dir, 'nab'), createDetector: async () => detector })
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = savedTmp
    }
    expect(readdirSync(scratch)).toEqual([])
    expect(detector.seen).toEqual(new Set(['synthetic_calm/value', 'synthetic_spike/value']))
    expect(detector.closed).toBe(true)
    expect(report).toMatchObject({ files: 2, rows: 400, windows: 1, profilesFrom: 'NAB defaults (no profiles.json)', model: { name: 'zscore' } })
    // The spike (row 150) is the only score of 1: detected at y = -(160-150+1)/16 = -0.6875,
    // sigma(-0.6875) / sigma(-1) = 0.9377123 / 0.9866143 = 0.9504346; standard: 100 * (0.9504346 + 1) / 2 = 97.52173.
    const standard = report.profiles.standard!
    expect(standard).toMatchObject({ threshold: 1, truePositives: 1, falsePositives: 0, falseNegatives: 0 })
    expect(standard.rawScore).toBeCloseTo(0.9504346, 6)
    expect(standard.normalisedScore).toBeCloseTo(97.52173, 4)
    expect(standard.files.find((f) => f.file === 'synthetic/spike.csv')!.firstDetectionRows).toEqual([150])
    // reward_low_FN_rate: 100 * (0.9504346 + 2) / 3 = 98.34782
    expect(report.profiles.reward_low_FN_rate!.normalisedScore).toBeCloseTo(98.34782, 4)
    expect(formatNabReport(report)).toMatch(/^standard +97\.52 +1\.00000 +0\.950 +1 +0 +0$/m)
  })

  it('keeps the detection CSVs with outputDir, in NAB\'s results layout', async () => {
    const dir = useTempDir()
    buildCorpus(join(dir, 'nab'))
    await evaluateNab({ dir: join(dir, 'nab'), outputDir: join(dir, 'results'), createDetector: async () => new ZScoreDetector() })
    const spike = readFileSync(join(dir, 'results', 'synthetic', 'spike.csv'), 'utf8').split('\n')
    expect(spike[0]).toBe('timestamp,value,anomaly_score')
    expect(spike[151]).toBe(`${stamp(150)},100,1`)
    expect(existsSync(join(dir, 'results', 'synthetic', 'calm.csv'))).toBe(true)
  })

  it('refuses a data file without labels', async () => {
    const dir = useTempDir()
    buildCorpus(join(dir, 'nab'))
    writeFileSync(join(dir, 'nab', 'data', 'synthetic', 'unlabelled.csv'), series())
    await expect(evaluateNab({ dir: join(dir, 'nab'), createDetector: async () => new ZScoreDetector() })).rejects.toMatchObject({
      code: 'NAB_ERR_LABELS',
      message: expect.stringContaining('synthetic/unlabelled.csv'),
    })
  })
})
