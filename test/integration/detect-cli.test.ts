import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCombinedWindows } from '../../models/nab/index.js'
import { packageRoot } from '../../shared/package-root.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

const NAB = join(packageRoot(), '..', 'shared', 'datasets', 'nab')
// A network-traffic series whose one labelled anomaly is a spike far above everything else.
const SPIKE_FILE = 'realAWSCloudwatch/ec2_network_in_257a54.csv'

function scoresOf(csv: string): { timestamps: string[]; values: string[]; scores: number[] } {
  const lines = csv.trimEnd().split('\n')
  expect(lines[0]).toBe('timestamp,value,anomaly_score')
  const rows = lines.slice(1).map((line) => line.split(','))
  return { timestamps: rows.map((r) => r[0] as string), values: rows.map((r) => r[1] as string), scores: rows.map((r) => Number(r[2])) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

describe('cloudos detect (built CLI, shipped model)', () => {
  let tmp: TempDir
  let fullOutput: string

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-detect-')
    const result = await runCli(['detect', '--input', join(NAB, 'data', SPIKE_FILE), '--output', join(tmp.path, 'full.csv'), '--json'], { timeoutMs: 120_000 })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 4032, written: 4032, skipped: 0, seriesKey: 'ec2_network_in_257a54/value' })
    fullOutput = readFileSync(join(tmp.path, 'full.csv'), 'utf8')
  }, 180_000)

  afterAll(() => tmp.remove())

  it('flags the labelled anomaly of a NAB file: the highest score inside the window stands clearly above the scores outside', () => {
    const input = readFileSync(join(NAB, 'data', SPIKE_FILE), 'utf8').trimEnd().split('\n').slice(1)
    const { timestamps, values, scores } = scoresOf(fullOutput)
    // Every row is written, in order, with the input's timestamp and value as written.
    expect(timestamps).toEqual(input.map((l) => l.split(',')[0]))
    expect(values).toEqual(input.map((l) => l.split(',')[1]))
    for (const score of scores) expect(score >= 0 && score <= 1).toBe(true)

    const windows = parseCombinedWindows(readFileSync(join(NAB, 'labels', 'combined_windows.json'), 'utf8'), 'labels').get(SPIKE_FILE)!
    const ms = timestamps.map((t) => Date.parse(`${t.replace(' ', 'T')}Z`))
    const inWindow = (i: number) => windows.some((w) => ms[i]! >= w.startMs && ms[i]! <= w.endMs)
    const probation = Math.floor(0.15 * scores.length)
    const inside = scores.filter((_, i) => inWindow(i))
    const outside = scores.filter((_, i) => i >= probation && !inWindow(i))
    const maxInside = Math.max(...inside)
    const medianOutside = median(outside)
    expect(maxInside, `max inside ${maxInside}, median outside ${medianOutside}`).toBeGreaterThan(medianOutside + 0.3)
    // And it is among the highest scores of the whole file after probation.
    const rankOfMax = outside.filter((s) => s >= maxInside).length
    expect(rankOfMax, 'rows outside the window scoring at least as high').toBeLessThan(outside.length * 0.01)
  })

  it('has no look-ahead: a file cut short gives the same scores for the rows it keeps, whatever the chunk size', async () => {
    const input = readFileSync(join(NAB, 'data', SPIKE_FILE), 'utf8').trimEnd().split('\n')
    const kept = 2500
    const cut = join(tmp.path, 'cut.csv')
    writeFileSync(cut, `${input.slice(0, kept + 1).join('\n')}\n`)
    const result = await runCli(['detect', '--input', cut, '--output', join(tmp.path, 'cut-out.csv'), '--chunk-size', '1', '--series', 'ec2_network_in_257a54/value'], {
      timeoutMs: 120_000,
    })
    expect(result.code, result.stderr).toBe(0)
    const cutScores = scoresOf(readFileSync(join(tmp.path, 'cut-out.csv'), 'utf8')).scores
    expect(cutScores).toHaveLength(kept)
    expect(cutScores).toEqual(scoresOf(fullOutput).scores.slice(0, kept))
  })

  it('writes to stdout with --output -', async () => {
    const input = readFileSync(join(NAB, 'data', SPIKE_FILE), 'utf8').trimEnd().split('\n').slice(0, 301)
    const small = join(tmp.path, 'small.csv')
    writeFileSync(small, `${input.join('\n')}\n`)
    const result = await runCli(['detect', '--input', small, '--output', '-'], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(scoresOf(result.stdout).scores).toHaveLength(300)
    expect(result.stderr).toMatch(/^detect: 300 rows from .*small\.csv: 300 written to stdout/)
  })

  it('refuses a malformed CSV with a coded error naming the line, exit status 2, and writes no output', async () => {
    const bad = join(tmp.path, 'bad.csv')
    writeFileSync(bad, 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00;2\n')
    const output = join(tmp.path, 'bad-out.csv')
    const result = await runCli(['detect', '--input', bad, '--output', output], { timeoutMs: 60_000 })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('DETECT_ERR_CSV_FORMAT')
    expect(result.stderr).toContain('bad.csv:3')
    expect(() => readFileSync(output)).toThrow()
  })

  it('skips and counts rows with a non-numeric value, like the edge', async () => {
    const withGaps = join(tmp.path, 'gaps.csv')
    const input = readFileSync(join(NAB, 'data', SPIKE_FILE), 'utf8').trimEnd().split('\n').slice(0, 201)
    input[50] = `${input[50]!.split(',')[0]},NaN`
    input[60] = `${input[60]!.split(',')[0]},`
    writeFileSync(withGaps, `${input.join('\n')}\n`)
    const result = await runCli(['detect', '--input', withGaps, '--output', join(tmp.path, 'gaps-out.csv'), '--json'], { timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 200, written: 198, skipped: 2, skippedLines: [51, 61] })
  })
})
