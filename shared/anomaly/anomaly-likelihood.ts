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
 * - With `outlierClip`, what the long run learns from a recent mean is capped at
 *   mean + `outlierClip` spreads, so an incident does not inflate the error
 *   history and hide its own continuation or the next incident (a robust,
 *   winsorised estimate of the normal error level).
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
  /**
   * A second error scale: the same likelihood over the mean of the last
   * `longWindow` errors (absent or 0: off). A moderate but sustained change
   * stands out better in a longer average; the score is the larger of the two.
   */
  readonly longWindow?: number | undefined
  /** Long-run learning caps a recent mean at mean + outlierClip spreads (absent or 0: learns it as is). */
  readonly outlierClip?: number | undefined
  /**
   * Spatial check: a reading beyond the series' range so far by more than
   * `spatialMargin` x that range scores 1 (absent or 0: off).
   */
  readonly spatialMargin?: number | undefined
  /** Readings seen before the spatial check starts. */
  readonly spatialWarmup?: number | undefined
  /**
   * Recurrence check (models with seasonal context): a score is damped like a
   * repeat when a score of `detectionLevel` or more was seen within
   * `recurrenceBins` time-of-day slots of this one in earlier cycles (absent or 0: off).
   */
  readonly recurrenceBins?: number | undefined
  /** Per visit of a slot, the remembered score decays by this factor. */
  readonly recurrenceDecay?: number | undefined
}

export const DEFAULT_LIKELIHOOD: LikelihoodSettings = {
  learningPeriod: 150,
  historyHorizon: 2000,
  shortWindow: 6,
  tailDecades: 10,
  minimumSpread: 0.05,
  detectionLevel: 0.5,
  suppressionPeriod: 100,
  suppressionFactor: 0.2,
  longWindow: 24,
  outlierClip: 2.5,
  spatialMargin: 0.1,
  spatialWarmup: 150,
  recurrenceBins: 3,
  recurrenceDecay: 0.9,
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
    let learnt = recentMean
    if (this.#history.count >= s.learningPeriod) {
      const spread = Math.max(this.#history.standardDeviation, s.minimumSpread * Math.max(this.#history.mean, 1e-3))
      const z = (recentMean - this.#history.mean) / spread
      score = Math.min(1, Math.max(0, -Math.log10(Math.max(normalTail(z), 1e-300)) / s.tailDecades))
      const clip = s.outlierClip ?? 0
      if (clip > 0) learnt = Math.min(recentMean, this.#history.mean + clip * spread)
    }
    this.#history.update(learnt)
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

/**
 * Spatial anomaly (as in Numenta HTM's NAB detector and CAD OSE): a reading
 * outside the range the series has shown so far, by more than `margin` times
 * that range, scores 1. It catches level shifts and spikes at once, whatever
 * the forecaster makes of them. O(1) per reading; the range never forgets (a
 * new level widens it, so a shift is reported once).
 */
export class SpatialRange {
  readonly #margin: number
  readonly #warmup: number
  #min = Number.POSITIVE_INFINITY
  #max = Number.NEGATIVE_INFINITY
  #count = 0

  constructor(margin: number, warmup: number) {
    this.#margin = margin
    this.#warmup = warmup
  }

  /** 1 if `value` is outside the range so far by more than the margin (after the warm-up), else 0; then learns it. */
  check(value: number): number {
    let score = 0
    if (this.#margin > 0 && this.#count >= this.#warmup) {
      const slack = this.#margin * (this.#max - this.#min)
      if (value > this.#max + slack || value < this.#min - slack) score = 1
    }
    this.#count++
    if (value < this.#min) this.#min = value
    if (value > this.#max) this.#max = value
    return score
  }
}

/**
 * Remembers, per time-of-day slot, the highest recent score (decayed by
 * `decay` at each visit of the slot). A surprise that came at about the same
 * time in an earlier cycle (a nightly job, a daily spike) is a recurring
 * pattern, not an incident: {@link recurred} says so, and the detector damps
 * it like a repeat. O(2 x bins + 1) per reading, constant memory.
 */
export class RecurrenceMemory {
  readonly #scores: Float64Array
  readonly #neighbours: number
  readonly #decay: number

  constructor(bins: number, neighbours: number, decay: number) {
    this.#scores = new Float64Array(bins)
    this.#neighbours = Math.min(neighbours, Math.floor((bins - 1) / 2))
    this.#decay = decay
  }

  /** The highest remembered score within the neighbour slots of `bin`, then `score` is remembered in `bin`. */
  recall(bin: number, score: number): number {
    const bins = this.#scores.length
    let remembered = 0
    for (let k = -this.#neighbours; k <= this.#neighbours; k++) {
      const value = this.#scores[(((bin + k) % bins) + bins) % bins] as number
      if (value > remembered) remembered = value
    }
    this.#scores[bin] = Math.max(score, (this.#scores[bin] as number) * this.#decay)
    return remembered
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
