import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  NAB_DEFAULT_PROFILES,
  optimiseThresholds,
  parseCombinedWindows,
  parseProfiles,
  planFileScoring,
  probationaryLength,
  scaledSigmoid,
  scoreFileAtThreshold,
  scoreNabCorpus,
  truePositiveReward,
  type NabCorpusFile,
} from '../../models/nab/index.js'

/*
 * Hand-computed NAB cases. sigma(y) = 2 / (1 + e^(5y)) - 1, so
 *   sigma(-1)    = 2 / (1 + e^-5)     - 1 = 2 / 1.0067379 - 1 = 0.9866143
 *   sigma(-0.75) = 2 / (1 + e^-3.75)  - 1 = 2 / 1.0235177 - 1 = 0.9540453
 *   sigma(-0.5)  = 2 / (1 + e^-2.5)   - 1 = 2 / 1.0820850 - 1 = 0.8482836
 *   sigma(-0.25) = 2 / (1 + e^-1.25)  - 1 = 2 / 1.2865048 - 1 = 0.5545997
 *   sigma(1/3)   = 2 / (1 + e^(5/3))  - 1 = 2 / 6.2944901 - 1 = -0.6822618
 *   sigma(4/3)   = 2 / (1 + e^(20/3)) - 1 = 2 / 787.63148 - 1 = -0.9974580
 * A true positive earns sigma(y) / sigma(-1) (1 on the window's first row).
 */
const MINUTE = 60_000
const STANDARD = NAB_DEFAULT_PROFILES.standard!

/** `rows` one-minute rows; one window over rows [first, last]; scores `rest` except those given. */
function series(rows: number, window: [number, number] | undefined, scored: Record<number, number>, rest = 0): NabCorpusFile {
  const timestamps = Array.from({ length: rows }, (_, i) => i * MINUTE)
  const scores = Array.from({ length: rows }, (_, i) => scored[i] ?? rest)
  const windows = window === undefined ? [] : [{ startMs: window[0] * MINUTE, endMs: window[1] * MINUTE }]
  return { file: 'test/series.csv', timestamps, windows, scores }
}

/** One file scored at a fixed threshold under the standard profile. */
function rawAt(file: NabCorpusFile, threshold: number): number {
  const plan = planFileScoring(file.file, file.timestamps, file.windows)
  return scoreFileAtThreshold(plan, file.scores, threshold, STANDARD).rawScore
}

describe('the scaled sigmoid', () => {
  it('rewards early detection and punishes late ones', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.9866143, 6)
    expect(scaledSigmoid(0)).toBe(0)
    expect(scaledSigmoid(1 / 3)).toBeCloseTo(-0.6822618, 6)
    // Beyond three window widths a false positive costs exactly 1.
    expect(scaledSigmoid(3.0001)).toBe(-1)
    expect(truePositiveReward(-1)).toBe(1)
  })
})

describe('probationary period', () => {
  it('is 15% of the rows, at most 750', () => {
    expect(probationaryLength(20)).toBe(3) // floor(3.0)
    expect(probationaryLength(4032)).toBe(604) // floor(604.8)
    expect(probationaryLength(10_000)).toBe(750)
  })
})

// 20 rows, probation = floor(0.15 * 20) = 3 (rows 0..2), one window over rows 8..11 (width 4).
// Standard profile: tpWeight 1, fpWeight 0.11, fnWeight 1; null = -1, perfect = +1.
describe('one file, one window, standard profile', () => {
  it('a detection on the window\'s first row earns tpWeight: y = -(11-8+1)/4 = -1, reward 1', () => {
    expect(rawAt(series(20, [8, 11], { 8: 1 }), 1)).toBeCloseTo(1, 9)
  })

  it('a detection on the last row earns less: y = -(11-11+1)/4 = -0.25, 0.5545997 / 0.9866143 = 0.5621241', () => {
    const file = series(20, [8, 11], { 11: 1 })
    expect(rawAt(file, 1)).toBeCloseTo(0.5621241, 6)
    // normalised: 100 * (0.5621241 - (-1)) / (1 - (-1)) = 78.106207
    expect(scoreNabCorpus([file], { standard: STANDARD }).profiles.standard!.normalisedScore).toBeCloseTo(78.106207, 5)
  })

  it('a detection just after the window is a mild false positive and the window is missed: y = (12-11)/(4-1) = 1/3', () => {
    // 0.11 * sigma(1/3) - 1 = 0.11 * -0.6822618 - 1 = -1.0750488
    const file = series(20, [8, 11], { 12: 1 }, NaN)
    expect(rawAt(file, 1)).toBeCloseTo(-1.0750488, 6)
    // Optimised, detecting nothing (-1) beats it: the null detector's threshold and score 0.
    const result = scoreNabCorpus([file], { standard: STANDARD }).profiles.standard!
    expect(result.threshold).toBe(Infinity)
    expect(result.rawScore).toBe(-1)
    expect(result.normalisedScore).toBe(0)
  })

  it('a false positive before any window costs the full fpWeight: 1 - 0.11 = 0.89', () => {
    const file = series(20, [8, 11], { 5: 1, 8: 1 })
    const result = scoreFileAtThreshold(planFileScoring(file.file, file.timestamps, file.windows), file.scores, 1, STANDARD)
    expect(result.rawScore).toBeCloseTo(0.89, 9)
    expect(result).toMatchObject({ truePositives: 1, falsePositives: 1, falseNegatives: 0, firstDetectionRows: [8] })
  })

  it('a missed window costs fnWeight: -1', () => {
    expect(rawAt(series(20, [8, 11], { 3: 0.2 }), 0.5)).toBe(-1)
  })

  it('only the first detection in a window counts: rows 9 and 10 earn sigma(-0.75)/sigma(-1) = 0.9669891, no more, no false positive', () => {
    const file = series(20, [8, 11], { 9: 1, 10: 1 })
    expect(rawAt(file, 1)).toBeCloseTo(0.9669891, 6)
    const plan = planFileScoring(file.file, file.timestamps, file.windows)
    expect(scoreFileAtThreshold(plan, file.scores, 1, STANDARD)).toMatchObject({ truePositives: 1, falsePositives: 0, firstDetectionRows: [9] })
  })

  it('detections in the probationary period do not count: row 2 is ignored, only the miss remains (-1, not -1.11)', () => {
    expect(rawAt(series(20, [8, 11], { 2: 1 }), 1)).toBe(-1)
  })

  it('a window wholly inside the probationary period is neither detected nor missed', () => {
    // 40 rows: probation 6 (rows 0..5); window rows 1..3 is ignored, window rows 20..23 counts.
    const file: NabCorpusFile = { ...series(40, [20, 23], { 20: 1 }) }
    file.windows = [{ startMs: 1 * MINUTE, endMs: 3 * MINUTE }, ...file.windows]
    const result = scoreNabCorpus([file], { standard: STANDARD })
    expect(result.windows).toBe(1)
    expect(result.profiles.standard!.rawScore).toBeCloseTo(1, 9)
    expect(result.profiles.standard!.normalisedScore).toBeCloseTo(100, 9)
  })

  it('NaN scores are never detections', () => {
    // At threshold 0 every finite score detects: row 9 (0.9669891), not row 8 (which would earn 1).
    expect(rawAt(series(20, [8, 11], { 8: NaN, 9: 0.5 }, NaN), 0)).toBeCloseTo(0.9669891, 6)
    expect(rawAt(series(20, [8, 11], { 8: 0.1, 9: 0.5 }, NaN), 0)).toBeCloseTo(1, 9)
  })
})

describe('threshold optimisation over a corpus', () => {
  it('finds the threshold that maximises the summed raw score', () => {
    // File A (20 rows, window 8..11): row 8 scores 0.9, row 15 scores 0.95.
    //   Row 15 is a false positive y = (15-11)/3 = 4/3 after the window: 0.11 * sigma(4/3) = -0.1097204.
    // File B (20 rows, no window): row 10 scores 0.5, a false positive before any window: -0.11.
    // Thresholds:  >0.95: -1 (null)
    //              0.95: -1 - 0.1097204 = -1.1097204
    //              0.9:   1 - 0.1097204 =  0.8902796   <- best
    //              0.5:   0.8902796 - 0.11 = 0.7802796
    //              0:     every scored row detects: far worse
    const a = series(20, [8, 11], { 8: 0.9, 15: 0.95 })
    const b = { ...series(20, undefined, { 10: 0.5 }), file: 'test/b.csv' }
    const result = scoreNabCorpus([a, b], NAB_DEFAULT_PROFILES)
    const standard = result.profiles.standard!
    expect(standard.threshold).toBe(0.9)
    expect(standard.rawScore).toBeCloseTo(0.8902796, 6)
    // 100 * (0.8902796 + 1) / 2 = 94.51398
    expect(standard.normalisedScore).toBeCloseTo(94.51398, 4)
    expect(standard.files.map((f) => [f.truePositives, f.falsePositives, f.falseNegatives])).toEqual([[1, 1, 0], [0, 0, 0]])
    // reward_low_FN_rate (fnWeight 2): null = -2, perfect = 1; same threshold, 100 * (0.8902796 + 2) / 3 = 96.34265
    expect(result.profiles.reward_low_FN_rate!.normalisedScore).toBeCloseTo(96.34265, 4)
  })

  it('optimises each profile separately', () => {
    // 40 rows, probation 6, window rows 20..23. Rows 6..15 score 0.8 (ten false positives before any
    // window, -1 each unweighted); row 22 scores 0.7: y = -(23-22+1)/4 = -0.5, reward 0.8482836 / 0.9866143 = 0.8597926.
    // standard at 0.7:            0.8597926 - 10 * 0.11 = -0.2402074 > -1 (null)  -> threshold 0.7
    // reward_low_FP_rate at 0.7:  0.8597926 - 10 * 0.22 = -1.3402074 < -1 (null)  -> detect nothing
    const scored: Record<number, number> = { 22: 0.7 }
    for (let row = 6; row <= 15; row++) scored[row] = 0.8
    const result = scoreNabCorpus([series(40, [20, 23], scored)], NAB_DEFAULT_PROFILES)
    expect(result.profiles.standard!.threshold).toBe(0.7)
    expect(result.profiles.standard!.rawScore).toBeCloseTo(-0.2402074, 6)
    // 100 * (-0.2402074 + 1) / 2 = 37.98963
    expect(result.profiles.standard!.normalisedScore).toBeCloseTo(37.98963, 4)
    expect(result.profiles.reward_low_FP_rate!.threshold).toBe(Infinity)
    expect(result.profiles.reward_low_FP_rate!.normalisedScore).toBe(0)
    // reward_low_FN_rate: (0.8597926 - 1.1 + 2) / 3 * 100 = 58.65975
    expect(result.profiles.reward_low_FN_rate!.normalisedScore).toBeCloseTo(58.65975, 4)
  })

  it('agrees with scoring every candidate threshold one by one (random corpora)', () => {
    const corpus = fc.array(
      fc.record({
        rows: fc.integer({ min: 10, max: 60 }),
        window: fc.option(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 8 }))),
        levels: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 60, maxLength: 60 }),
      }),
      { minLength: 1, maxLength: 4 },
    )
    fc.assert(
      fc.property(corpus, (specs) => {
        const files = specs.map((spec, n) => {
          const window: [number, number] | undefined = spec.window === null ? undefined : [Math.min(spec.window[0], spec.rows - 1), Math.min(spec.window[0] + spec.window[1], spec.rows - 1)]
          const scores: Record<number, number> = {}
          for (let row = 0; row < spec.rows; row++) scores[row] = (spec.levels[row] as number) / 5
          return { ...series(spec.rows, window, scores), file: `f${n}.csv` }
        })
        const plans = files.map((f) => ({ plan: planFileScoring(f.file, f.timestamps, f.windows), scores: f.scores }))
        const best = optimiseThresholds(plans, NAB_DEFAULT_PROFILES)
        for (const [name, matrix] of Object.entries(NAB_DEFAULT_PROFILES)) {
          const windows = plans.reduce((n, p) => n + p.plan.scoredWindows, 0)
          let bruteBest = -matrix.fnWeight * windows
          for (const threshold of [1, 0.8, 0.6, 0.4, 0.2, 0]) {
            const raw = plans.reduce((sum, p) => sum + scoreFileAtThreshold(p.plan, p.scores, threshold, matrix).rawScore, 0)
            bruteBest = Math.max(bruteBest, raw)
          }
          expect(best[name]!.rawScore).toBeCloseTo(bruteBest, 9)
        }
      }),
      { numRuns: 200 },
    )
  })
})

describe('labels and profiles files', () => {
  it('parses combined_windows.json', () => {
    const labels = parseCombinedWindows('{"a/x.csv": [["2014-04-10 07:15:00.000000", "2014-04-11 16:45:00.000000"]], "a/y.csv": []}', 'labels.json')
    expect(labels.get('a/x.csv')).toEqual([{ startMs: Date.UTC(2014, 3, 10, 7, 15), endMs: Date.UTC(2014, 3, 11, 16, 45) }])
    expect(labels.get('a/y.csv')).toEqual([])
  })

  it('refuses bad labels and profiles with a coded error', () => {
    expect(() => parseCombinedWindows('{"a/x.csv": [["yesterday", "today"]]}', 'l.json')).toThrow(expect.objectContaining({ code: 'NAB_ERR_LABELS' }))
    expect(() => parseCombinedWindows('[1]', 'l.json')).toThrow(expect.objectContaining({ code: 'NAB_ERR_LABELS' }))
    expect(() => parseProfiles('{"standard": {"CostMatrix": {"tpWeight": 1, "fpWeight": -1, "fnWeight": 1, "tnWeight": 1}}}', 'p.json')).toThrow(
      expect.objectContaining({ code: 'NAB_ERR_PROFILES' }),
    )
    expect(() => parseProfiles('not json', 'p.json')).toThrow(expect.objectContaining({ code: 'NAB_ERR_PROFILES' }))
  })

  it('parses the dataset\'s profiles.json to NAB\'s three profiles', async () => {
    const { readFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const { packageRoot } = await import('../../shared/package-root.js')
    const text = await readFile(join(packageRoot(), '..', 'shared', 'datasets', 'nab', 'profiles.json'), 'utf8')
    expect(parseProfiles(text, 'profiles.json')).toEqual(NAB_DEFAULT_PROFILES)
  })

  it('refuses a window that holds no row of the file', () => {
    const file = series(20, [8, 11], {})
    expect(() => planFileScoring('x.csv', file.timestamps, [{ startMs: 100 * MINUTE, endMs: 110 * MINUTE }])).toThrow(expect.objectContaining({ code: 'NAB_ERR_LABELS' }))
  })
})
