import type { FileScoringPlan } from './file-scoring-plan.js'
import type { CostMatrix } from './profiles.js'
import { weightedScore } from './threshold-sweep.js'

/** How one file fares at a given threshold under one profile. */
export interface FileResult {
  file: string
  rows: number
  probation: number
  /** Windows that could be detected (past the probationary period). */
  windows: number
  /** Windows detected (their earliest detection counts). */
  truePositives: number
  /** Detections outside every window (after probation). */
  falsePositives: number
  /** Windows without a detection. */
  falseNegatives: number
  /** Scored rows without a detection, outside every window. */
  trueNegatives: number
  rawScore: number
  /** Row index of the detection that counts, per detected window, in window order (-1: missed). */
  firstDetectionRows: number[]
}

/** Scores one file: rows with anomaly score >= threshold are detections (NaN never is). */
export function scoreFileAtThreshold(plan: FileScoringPlan, scores: ArrayLike<number>, threshold: number, matrix: CostMatrix): FileResult {
  const firstDetectionRows = plan.spans.map(() => -1)
  let truePositiveSum = 0
  let falsePositiveSum = 0
  let falsePositives = 0
  let trueNegatives = 0
  for (let row = plan.probation; row < plan.rows; row++) {
    const detected = (scores[row] as number) >= threshold
    const window = plan.windowOfRow[row] as number
    if (window < 0) {
      if (detected) {
        falsePositives++
        falsePositiveSum += plan.valueOfRow[row] as number
      } else {
        trueNegatives++
      }
    } else if (detected && firstDetectionRows[window] === -1) {
      firstDetectionRows[window] = row
      truePositiveSum += plan.valueOfRow[row] as number
    }
  }
  const truePositives = firstDetectionRows.filter((row) => row >= 0).length
  const falseNegatives = plan.scoredWindows - truePositives
  return {
    file: plan.file,
    rows: plan.rows,
    probation: plan.probation,
    windows: plan.scoredWindows,
    truePositives,
    falsePositives,
    falseNegatives,
    trueNegatives,
    rawScore: weightedScore(matrix, truePositiveSum, falsePositiveSum, falseNegatives),
    firstDetectionRows,
  }
}
