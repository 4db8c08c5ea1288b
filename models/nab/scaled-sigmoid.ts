/**
 * NAB's scoring curve (Lavin & Ahmad 2015, section "Scoring"): a sigmoid of a
 * detection's position relative to an anomaly window's right end, scaled to
 * -1..+1. Position -1 is the window's first row, 0 its last row; positive
 * positions lie after the window, measured in window lengths.
 *
 *   sigma(y) = 2 / (1 + e^(5y)) - 1
 *
 * sigma(-1) ~ 0.9866 (early detection), sigma(0) = 0 (right at the end),
 * sigma(y) -> -1 far after the window. NAB cuts the tail at y > 3 to exactly
 * -1, so a false positive long after a window costs the full fpWeight.
 */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1
}

/**
 * The reward of a true positive at `relativePosition` inside its window,
 * scaled so that a detection on the window's first row earns exactly 1 (NAB
 * scales true positives this way so a perfect detector scores tpWeight per
 * window; see NAB pull request #88, "TP scores scaled so max=1").
 */
export function truePositiveReward(relativePosition: number): number {
  return scaledSigmoid(relativePosition) / scaledSigmoid(-1)
}
