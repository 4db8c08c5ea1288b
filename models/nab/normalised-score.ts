import type { CostMatrix } from './profiles.js'

/**
 * NAB's normalised score: 0 is the null detector (never detects: every window
 * missed, -fnWeight each), 100 the perfect detector (every window detected on
 * its first row, +tpWeight each, no false positive). A detector can score
 * below 0 when its false positives cost more than its detections earn.
 * NaN when the corpus has no window (null and perfect coincide).
 */
export function normalisedScore(rawScore: number, windows: number, matrix: CostMatrix): number {
  const nullScore = -matrix.fnWeight * windows
  const perfectScore = matrix.tpWeight * windows
  if (perfectScore === nullScore) return NaN
  return (100 * (rawScore - nullScore)) / (perfectScore - nullScore)
}
