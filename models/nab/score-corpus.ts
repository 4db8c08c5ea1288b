import type { NabWindow } from './anomaly-windows.js'
import { scoreFileAtThreshold, type FileResult } from './file-result.js'
import { planFileScoring } from './file-scoring-plan.js'
import { normalisedScore } from './normalised-score.js'
import type { CostMatrix, NabProfiles } from './profiles.js'
import { optimiseThresholds } from './threshold-sweep.js'

/** One corpus file: its row timestamps, labelled windows and the detector's anomaly score per row. */
export interface NabCorpusFile {
  /** `<category>/<file>.csv`, as in labels/combined_windows.json. */
  file: string
  timestamps: ArrayLike<number>
  windows: readonly NabWindow[]
  /** One per row, 0..1; NaN (window still filling, value skipped) is never a detection. */
  scores: ArrayLike<number>
}

export interface ProfileResult {
  profile: string
  weights: CostMatrix
  /** Rows with anomaly score >= threshold are detections; Infinity (null in JSON): detecting nothing scored best. */
  threshold: number
  thresholdOptimised: boolean
  rawScore: number
  /** 0 = null detector, 100 = perfect detector. */
  normalisedScore: number
  nullScore: number
  perfectScore: number
  truePositives: number
  falsePositives: number
  falseNegatives: number
  files: FileResult[]
}

export interface NabCorpusScore {
  files: number
  rows: number
  windows: number
  profiles: Record<string, ProfileResult>
}

export interface ScoreCorpusOptions {
  /** Score every profile at this threshold instead of optimising it per profile. */
  threshold?: number
  /** Share of each file that is probationary (default NAB's 0.15). */
  probationPercent?: number
}

/**
 * Scores a detector's output over a NAB corpus under each profile, with the
 * threshold optimised per profile over the whole corpus, as NAB's scorer
 * does, then reports each file at that threshold.
 */
export function scoreNabCorpus(files: readonly NabCorpusFile[], profiles: NabProfiles, options: ScoreCorpusOptions = {}): NabCorpusScore {
  const scored = files.map((f) => {
    if (f.scores.length !== f.timestamps.length) {
      throw new RangeError(`${f.file}: ${f.scores.length} scores for ${f.timestamps.length} rows`)
    }
    return { plan: planFileScoring(f.file, f.timestamps, f.windows, options.probationPercent), scores: f.scores }
  })
  const windows = scored.reduce((sum, { plan }) => sum + plan.scoredWindows, 0)
  const optimised = options.threshold === undefined ? optimiseThresholds(scored, profiles) : undefined
  const results: Record<string, ProfileResult> = {}
  for (const [profile, weights] of Object.entries(profiles)) {
    const threshold = optimised?.[profile]?.threshold ?? (options.threshold as number)
    const fileResults = scored.map(({ plan, scores }) => scoreFileAtThreshold(plan, scores, threshold, weights))
    const rawScore = fileResults.reduce((sum, r) => sum + r.rawScore, 0)
    results[profile] = {
      profile,
      weights,
      threshold,
      thresholdOptimised: optimised !== undefined,
      rawScore,
      normalisedScore: normalisedScore(rawScore, windows, weights),
      nullScore: -weights.fnWeight * windows,
      perfectScore: weights.tpWeight * windows,
      truePositives: sum(fileResults, 'truePositives'),
      falsePositives: sum(fileResults, 'falsePositives'),
      falseNegatives: sum(fileResults, 'falseNegatives'),
      files: fileResults,
    }
  }
  return { files: files.length, rows: files.reduce((n, f) => n + f.timestamps.length, 0), windows, profiles: results }
}

function sum(results: readonly FileResult[], key: 'truePositives' | 'falsePositives' | 'falseNegatives'): number {
  return results.reduce((total, r) => total + r[key], 0)
}
