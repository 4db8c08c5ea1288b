/**
 * The anomaly-likelihood stage (after Ahmad et al., "Unsupervised real-time
 * anomaly detection for streaming data", Neurocomputing 2017): it turns a
 * series' forecast errors into a 0..1 score that says how unusual the recent
 * errors are *for this series*, so a noisy sensor and a quiet one share one
 * threshold.
 *
 * - The recent error is the mean magnitude of the last `shortWindow` errors.
 * - Its long-run distribution is a running mean and variance of that same
 *   recent mean (`historyHorizon`), updated after each score: comparing like
 *   with like, as Numenta's likelihood does with its averaged raw scores.
 * - The score is the normal tail probability Q of the recent mean against the
 *   long run, on a log scale: score = -log10(Q) / `tailDecades`, clipped to 0..1
 *   (0.5 means "one chance in 10^(tailDecades/2)").
 * - For `learningPeriod` errors the score is 0 while the distribution settles.
 *
 * {@link RepeatDamper} then damps the scores that follow a detection: after a
 * score reaches `detectionLevel`, later scores are multiplied by
 * `suppressionFactor` for `suppressionPeriod` readings, so one incident gives
 * one detection rather than a burst of them (NAB charges every false positive,
 * and an operator reads every alert).
 */
import { RunningMoments } from './running-mean.js'

export interface LikelihoodSettings {
  readonly learningPeriod: number
  readonly historyHorizon: number
  readonly shortWindow: number
  readonly tailDecades: number
  /** Relative floor on the error spread: a perfectly predicted series does not turn every blip into a detection. */
  readonly minimumSpread: number
  readonly detectionLevel: number
  readonly suppressionPeriod: number
  readonly suppressionFactor: number
}

export const DEFAULT_LIKELIHOOD: LikelihoodSettings = {
  learningPeriod: 150,
  historyHorizon: 2000,
  shortWindow: 4,
  tailDecades: 10,
  minimumSpread: 0.05,
  detectionLevel: 0.5,
  suppressionPeriod: 100,
  suppressionFactor: 0.2,
}

export class AnomalyLikelihood {
  readonly #settings: LikelihoodSettings
  readonly #history: RunningMoments
  readonly #recent: Float64Array
  #recentCount = 0
  #recentNext = 0
  #recentSum = 0

  constructor(settings: LikelihoodSettings = DEFAULT_LIKELIHOOD) {
    this.#settings = settings
    this.#history = new RunningMoments(settings.historyHorizon)
    this.#recent = new Float64Array(settings.shortWindow)
  }

  /** Scores one forecast error (in the window's normalised units) and learns from it. */
  score(error: number): number {
    const magnitude = Math.abs(error)
    this.#pushRecent(magnitude)
    const s = this.#settings
    const recentMean = this.#recentSum / this.#recentCount
    let score = 0
    if (this.#history.count >= s.learningPeriod) {
      const spread = Math.max(this.#history.standardDeviation, s.minimumSpread * Math.max(this.#history.mean, 1e-3))
      const z = (recentMean - this.#history.mean) / spread
      score = Math.min(1, Math.max(0, -Math.log10(Math.max(normalTail(z), 1e-300)) / s.tailDecades))
    }
    this.#history.update(recentMean)
    return score
  }

  #pushRecent(magnitude: number): void {
    if (this.#recentCount === this.#recent.length) this.#recentSum -= this.#recent[this.#recentNext] as number
    else this.#recentCount++
    this.#recent[this.#recentNext] = magnitude
    this.#recentSum += magnitude
    this.#recentNext = (this.#recentNext + 1) % this.#recent.length
  }
}

/** Damps the scores that follow a detection (see the module comment). */
export class RepeatDamper {
  readonly #settings: LikelihoodSettings
  #sinceDetection = Number.POSITIVE_INFINITY

  constructor(settings: LikelihoodSettings = DEFAULT_LIKELIHOOD) {
    this.#settings = settings
  }

  damp(score: number): number {
    const s = this.#settings
    this.#sinceDetection++
    if (this.#sinceDetection <= s.suppressionPeriod) return score * s.suppressionFactor
    if (score >= s.detectionLevel) this.#sinceDetection = 0
    return score
  }
}

/** Upper tail probability of the standard normal, Q(z) = erfc(z / sqrt 2) / 2. */
export function normalTail(z: number): number {
  return 0.5 * complementaryError(z / Math.SQRT2)
}

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' erfcc, Chebyshev fit). */
export function complementaryError(x: number): number {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    )
  return x >= 0 ? r : 2 - r
}
