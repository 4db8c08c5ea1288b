import type { FileScoringPlan } from './file-scoring-plan.js'
import type { CostMatrix, NabProfiles } from './profiles.js'

/** One file's plan with the detector's anomaly score for each of its rows (NaN: no score, never a detection). */
export interface ScoredFile {
  plan: FileScoringPlan
  scores: ArrayLike<number>
}

/** The best threshold for one profile and the corpus raw score it gives. */
export interface OptimisedThreshold {
  /** Rows with anomaly score >= threshold are detections; Infinity: detect nothing (the null detector did best). */
  threshold: number
  rawScore: number
}

/**
 * NAB's threshold optimisation: try every distinct anomaly score over the
 * whole corpus as the threshold, from the highest down, and keep the one that
 * maximises the corpus raw score (summed over files) for each profile. The
 * sweep is exact, not a search: lowering the threshold past one score value
 * adds exactly the rows holding that value as detections, so each step
 * updates the sums incrementally (O(n log n) for the sort, O(n) after).
 * Ties keep the higher threshold (fewer detections), as NAB does.
 */
export function optimiseThresholds(files: readonly ScoredFile[], profiles: NabProfiles): Record<string, OptimisedThreshold> {
  const points = collectPoints(files)
  const order = sortedByScoreDescending(points.score)
  const profileEntries = Object.entries(profiles)
  const best: Record<string, OptimisedThreshold> = {}
  for (const [name, matrix] of profileEntries) {
    best[name] = { threshold: Infinity, rawScore: -matrix.fnWeight * points.windows }
  }
  // Reward of the best (earliest) detection so far in each window; NaN: not detected yet.
  const windowReward = new Float64Array(points.windowIds).fill(NaN)
  let truePositiveSum = 0
  let falsePositiveSum = 0
  let missedWindows = points.windows
  let i = 0
  while (i < order.length) {
    const threshold = points.score[order[i] as number] as number
    // Lower the threshold to this score: every row holding it becomes a detection.
    while (i < order.length && points.score[order[i] as number] === threshold) {
      const point = order[i] as number
      const window = points.window[point] as number
      const value = points.value[point] as number
      if (window < 0) {
        falsePositiveSum += value
      } else {
        const previous = windowReward[window] as number
        // Only the earliest detection in a window counts; it has the largest reward.
        if (Number.isNaN(previous)) {
          windowReward[window] = value
          truePositiveSum += value
          missedWindows--
        } else if (value > previous) {
          windowReward[window] = value
          truePositiveSum += value - previous
        }
      }
      i++
    }
    for (const [name, matrix] of profileEntries) {
      const raw = weightedScore(matrix, truePositiveSum, falsePositiveSum, missedWindows)
      const current = best[name] as OptimisedThreshold
      if (raw > current.rawScore) best[name] = { threshold, rawScore: raw }
    }
  }
  return best
}

/** A profile's raw score from the unweighted sums: rewards, false-positive costs (negative) and missed windows. */
export function weightedScore(matrix: CostMatrix, truePositiveSum: number, falsePositiveSum: number, missedWindows: number): number {
  return matrix.tpWeight * truePositiveSum + matrix.fpWeight * falsePositiveSum - matrix.fnWeight * missedWindows
}

interface CorpusPoints {
  score: Float64Array
  value: Float64Array
  /** Corpus-wide window id, or -1 outside every window. */
  window: Int32Array
  /** Windows that can be detected (not wholly inside a probationary period). */
  windows: number
  /** Window ids in use: every labelled window of every file. */
  windowIds: number
}

function collectPoints(files: readonly ScoredFile[]): CorpusPoints {
  let count = 0
  for (const { plan, scores } of files) {
    for (let row = plan.probation; row < plan.rows; row++) if (Number.isFinite(scores[row])) count++
  }
  const points: CorpusPoints = {
    score: new Float64Array(count),
    value: new Float64Array(count),
    window: new Int32Array(count),
    // Windows wholly inside a probationary period hold no point: they can be neither detected nor missed.
    windows: files.reduce((sum, { plan }) => sum + plan.scoredWindows, 0),
    windowIds: files.reduce((sum, { plan }) => sum + plan.spans.length, 0),
  }
  let at = 0
  let windowBase = 0
  for (const { plan, scores } of files) {
    for (let row = plan.probation; row < plan.rows; row++) {
      const score = scores[row] as number
      if (!Number.isFinite(score)) continue
      const window = plan.windowOfRow[row] as number
      points.score[at] = score
      points.value[at] = plan.valueOfRow[row] as number
      points.window[at] = window < 0 ? -1 : windowBase + window
      at++
    }
    windowBase += plan.spans.length
  }
  return points
}

function sortedByScoreDescending(score: Float64Array): Uint32Array {
  const order = new Uint32Array(score.length)
  for (let i = 0; i < order.length; i++) order[i] = i
  order.sort((a, b) => (score[b] as number) - (score[a] as number))
  return order
}
