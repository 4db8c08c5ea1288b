import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCombinedWindows } from '../../models/nab/index.js'
import { packageRoot } from '../../shared/package-root.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

const NAB = join(packageRoot(), '..', 'shared', 'datasets', 'nab')
const FILES = ['artificialNoAnomaly/art_daily_no_noise.csv', 'artificialWithAnomaly/art_daily_jumpsup.csv', 'realAWSCloudwatch/ec2_network_in_257a54.csv']
const PROFILES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']

/** A three-file NAB-layout folder; NAB's full labels file (labels of absent files are ignored). */
function buildCorpus(root: string): void {
  for (const file of FILES) {
    mkdirSync(dirname(join(root, 'data', file)), { recursive: true })
    copyFileSync(join(NAB, 'data', file), join(root, 'data', file))
  }
  mkdirSync(join(root, 'labels'))
  copyFileSync(join(NAB, 'labels', 'combined_windows.json'), join(root, 'labels', 'combined_windows.json'))
  copyFileSync(join(NAB, 'profiles.json'), join(root, 'profiles.json'))
}

/** Results in NAB's layout from a made-up detector: `score(row, inWindowStart)` per row. */
function writeResults(root: string, score: (isWindowStart: boolean) => number): void {
  const labels = parseCombinedWindows(readFileSync(join(NAB, 'labels', 'combined_windows.json'), 'utf8'), 'labels')
  for (const file of FILES) {
    const starts = new Set(labels.get(file)!.map((w) => w.startMs))
    const rows = readFileSync(join(NAB, 'data', file), 'utf8').trimEnd().split('\n').slice(1)
    const out = rows.map((row) => {
      const [ts, value] = row.split(',') as [string, string]
      return `${ts},${value},${score(starts.has(Date.parse(`${ts.replace(' ', 'T')}Z`)))}`
    })
    mkdirSync(dirname(join(root, file)), { recursive: true })
    writeFileSync(join(root, file), `timestamp,value,anomaly_score\n${out.join('\n')}\n`)
  }
}

describe('cloudos model eval --nab (built CLI)', () => {
  let tmp: TempDir
  let corpus: string

  beforeAll(() => {
    tmp = makeTempDir('cloudos-nab-eval-')
    corpus = join(tmp.path, 'nab')
    buildCorpus(corpus)
  })

  afterAll(() => tmp.remove())

  it('runs the shipped model over a small NAB folder end to end and prints the score of each profile', async () => {
    const result = await runCli(['model', 'eval', '--nab', corpus, '--json', '--jobs', '2', '--output-dir', join(tmp.path, 'results')], { timeoutMs: 240_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ files: 3, windows: 2, rows: 4032 * 3 })
    expect(report.model.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(Object.keys(report.profiles)).toEqual(PROFILES)
    for (const name of PROFILES) {
      const profile = report.profiles[name]
      expect(profile.normalisedScore).toBeGreaterThanOrEqual(0) // never below the null detector: the optimiser can always detect nothing
      expect(profile.normalisedScore).toBeLessThanOrEqual(100)
      expect(profile.files.map((f: { file: string }) => f.file)).toEqual([...FILES].sort())
      expect(profile.truePositives + profile.falseNegatives).toBe(2)
    }
    // Progress per file on stderr, and the detection CSVs kept in NAB's results layout.
    expect(result.stderr.match(/^\[eval\] \d\/3 /gm)).toHaveLength(3)
    const kept = readFileSync(join(tmp.path, 'results', FILES[2]!), 'utf8')
    expect(kept.split('\n')[0]).toBe('timestamp,value,anomaly_score')
    // Exactly what `cloudos detect` writes for that file on its own.
    const alone = await runCli(['detect', '--input', join(corpus, 'data', FILES[2]!), '--output', join(tmp.path, 'alone.csv')], { timeoutMs: 120_000 })
    expect(alone.code, alone.stderr).toBe(0)
    expect(readFileSync(join(tmp.path, 'alone.csv'), 'utf8')).toBe(kept)

    // Scoring the kept results again, without the model, in this process, gives the same numbers.
    const again = await runCli(['model', 'eval', '--nab', corpus, '--results', join(tmp.path, 'results'), '--json'], { timeoutMs: 120_000 })
    expect(again.code, again.stderr).toBe(0)
    const rescored = JSON.parse(again.stdout)
    for (const name of PROFILES) expect(rescored.profiles[name].normalisedScore).toBe(report.profiles[name].normalisedScore)
  }, 300_000)

  it('prints a table with the three profiles, in this process with --jobs 1', async () => {
    const result = await runCli(['model', 'eval', '--nab', corpus, '--jobs', '1'], { timeoutMs: 240_000 })
    expect(result.code, result.stderr).toBe(0)
    for (const name of PROFILES) expect(result.stdout).toMatch(new RegExp(`^${name} +(-?\\d+\\.\\d\\d) +`, 'm'))
    expect(result.stdout).toContain('3 files, 12,096 rows, 2 anomaly windows')
  }, 300_000)

  it('scores a perfect detector 100 and the null detector 0 (existing results, no model)', async () => {
    writeResults(join(tmp.path, 'perfect'), (isWindowStart) => (isWindowStart ? 1 : 0))
    writeResults(join(tmp.path, 'null'), () => 0.5)
    const perfect = JSON.parse((await runCli(['model', 'eval', '--nab', corpus, '--results', join(tmp.path, 'perfect'), '--json'])).stdout)
    const none = JSON.parse((await runCli(['model', 'eval', '--nab', corpus, '--results', join(tmp.path, 'null'), '--json'])).stdout)
    for (const name of PROFILES) {
      expect(perfect.profiles[name]).toMatchObject({ threshold: 1, truePositives: 2, falsePositives: 0, falseNegatives: 0 })
      expect(perfect.profiles[name].normalisedScore).toBeCloseTo(100, 9)
      // The constant detector: every threshold detects all rows or none; none (threshold null in JSON) scores best.
      expect(none.profiles[name]).toMatchObject({ threshold: null, normalisedScore: 0, truePositives: 0, falseNegatives: 2 })
    }
  })

  it('refuses a folder that is not NAB-shaped, and results that do not match the data, with coded errors', async () => {
    const notNab = await runCli(['model', 'eval', '--nab', join(tmp.path, 'nowhere'), '--jobs', '1'])
    expect(notNab.code).toBe(2)
    expect(notNab.stderr).toContain('NAB_ERR_LAYOUT')
    const short = join(tmp.path, 'short')
    writeResults(short, () => 0)
    const file = join(short, FILES[0]!)
    writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, 100).join('\n'))
    const mismatch = await runCli(['model', 'eval', '--nab', corpus, '--results', short])
    expect(mismatch.code).toBe(2)
    expect(mismatch.stderr).toContain('NAB_ERR_RESULTS')
    // A model that cannot be loaded is reported with the model's own code, in worker processes or not.
    const notAModel = join(tmp.path, 'not-a-model.onnx')
    writeFileSync(notAModel, 'not an ONNX file')
    for (const jobs of ['1', '2']) {
      const badModel = await runCli(['model', 'eval', '--nab', corpus, '--model', notAModel, '--jobs', jobs], { timeoutMs: 60_000 })
      expect(badModel.code).toBe(2)
      expect(badModel.stderr).toMatch(/^cloudos: MODEL_ERR_[A-Z_]+: /)
    }
  })
})
