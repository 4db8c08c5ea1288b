/**
 * Everything the detector remembers about one series: its window and running
 * scale, the likelihood of its recent forecast errors, and the timing used to
 * spot gaps.
 *
 * Stream rules (docs/formats/model-card.md, "Stream handling"):
 * - a NaN or infinite value is skipped: it scores NaN and never enters the window;
 * - a reading older than the series' last accepted one is skipped the same way
 *   (the window is in stream order, a late reading cannot be inserted);
 * - a gap longer than `gapResetFactor` typical intervals restarts the window, so
 *   a forecast never spans a hole in the data; the scale and the error
 *   statistics are kept, and the series scores NaN again until the window refills.
 */
import { AnomalyLikelihood, RepeatDamper, type LikelihoodSettings } from './anomaly-likelihood.js'
import { RunningMean } from './running-mean.js'
import type { SeasonalSettings } from './seasonal-profile.js'
import { SeriesWindow, type NormalisationSettings } from './series-window.js'

/** Intervals over which the typical spacing of readings is learnt. */
const INTERVAL_HORIZON = 50
/** Intervals seen before a gap can be judged at all. */
const INTERVALS_BEFORE_GAP_CHECK = 10

export interface PipelineSettings {
  readonly window: number
  readonly normalisation: NormalisationSettings
  readonly likelihood: LikelihoodSettings
  readonly gapResetFactor: number
  /** Time-of-day context for the forecaster; absent for models without it. */
  readonly seasonal?: SeasonalSettings | undefined
}

export type Admission = 'accepted' | 'not-finite' | 'out-of-order'

export class SeriesState {
  readonly window: SeriesWindow
  readonly likelihood: AnomalyLikelihood
  /** Likelihood of the deviation from the usual time-of-day value (models with seasonal context). */
  readonly seasonalLikelihood: AnomalyLikelihood
  readonly damper: RepeatDamper
  readonly #gapResetFactor: number
  readonly #interval = new RunningMean(INTERVAL_HORIZON)
  #lastTs: number | undefined

  constructor(settings: PipelineSettings) {
    this.window = new SeriesWindow(settings.window, settings.normalisation, settings.seasonal)
    this.likelihood = new AnomalyLikelihood(settings.likelihood)
    this.seasonalLikelihood = new AnomalyLikelihood(settings.likelihood)
    this.damper = new RepeatDamper(settings.likelihood)
    this.#gapResetFactor = settings.gapResetFactor
  }

  /**
   * Decides whether a reading enters the stream, and restarts the window after
   * a gap. Call before reading the window for this reading's forecast.
   */
  /**
   * The reading's score from its forecast error and, with seasonal context,
   * its deviation from the usual value at this time of day (both in the
   * window's frame): the larger of the two likelihoods, damped after a
   * detection. A slow drift away from the daily pattern that the forecaster
   * follows step by step still shows in the second.
   */
  score(forecastError: number, seasonalDeviation: number): number {
    let score = this.likelihood.score(forecastError)
    if (Number.isFinite(seasonalDeviation)) score = Math.max(score, this.seasonalLikelihood.score(seasonalDeviation))
    return this.damper.damp(score)
  }

  admit(ts: number, value: number): Admission {
    if (!Number.isFinite(value)) return 'not-finite'
    if (!Number.isFinite(ts)) return 'not-finite'
    if (this.#lastTs !== undefined) {
      const interval = ts - this.#lastTs
      if (interval < 0) return 'out-of-order'
      const typical = this.#interval.mean
      if (this.#interval.count >= INTERVALS_BEFORE_GAP_CHECK && typical > 0 && interval > this.#gapResetFactor * typical) {
        this.window.restart()
      } else {
        this.#interval.update(interval)
      }
    }
    this.#lastTs = ts
    return 'accepted'
  }
}
