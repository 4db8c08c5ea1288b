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
import { AnomalyLikelihood, RecurrenceMemory, RepeatDamper, SpatialRange, type LikelihoodSettings } from './anomaly-likelihood.js'
import { RunningMean } from './running-mean.js'
import { seasonalBin, type SeasonalSettings } from './seasonal-profile.js'
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
  /** The same two likelihoods over `likelihood.longWindow` errors (absent when it is 0 or unset). */
  readonly #long: { readonly error: AnomalyLikelihood; readonly seasonal: AnomalyLikelihood } | undefined
  readonly damper: RepeatDamper
  /** Range check on the raw values (likelihood.spatialMargin). */
  readonly spatial: SpatialRange
  /** Time-of-day memory of high scores (likelihood.recurrenceBins; models with seasonal context only). */
  readonly #recurrence: RecurrenceMemory | undefined
  readonly #slots: SeasonalSettings | undefined
  readonly #likelihoodSettings: LikelihoodSettings
  readonly #gapResetFactor: number
  readonly #interval = new RunningMean(INTERVAL_HORIZON)
  #lastTs: number | undefined

  constructor(settings: PipelineSettings) {
    this.window = new SeriesWindow(settings.window, settings.normalisation, settings.seasonal)
    this.likelihood = new AnomalyLikelihood(settings.likelihood)
    this.seasonalLikelihood = new AnomalyLikelihood(settings.likelihood)
    this.damper = new RepeatDamper(settings.likelihood)
    const l = settings.likelihood
    this.#likelihoodSettings = l
    if ((l.longWindow ?? 0) > 0) {
      const long = { ...l, shortWindow: l.longWindow ?? 0 }
      this.#long = { error: new AnomalyLikelihood(long), seasonal: new AnomalyLikelihood(long) }
    }
    this.spatial = new SpatialRange(l.spatialMargin ?? 0, l.spatialWarmup ?? l.learningPeriod)
    if (settings.seasonal !== undefined && (l.recurrenceBins ?? 0) > 0) {
      this.#slots = settings.seasonal
      this.#recurrence = new RecurrenceMemory(settings.seasonal.bins, l.recurrenceBins ?? 0, l.recurrenceDecay ?? 1)
    }
    this.#gapResetFactor = settings.gapResetFactor
  }

  /**
   * The reading's score from its forecast error and, with seasonal context,
   * its deviation from the usual value at this time of day (both in the
   * window's frame): the larger of the two likelihoods (a slow drift away from
   * the daily pattern that the forecaster follows step by step still shows in
   * the second), each over the short and, if set, the long error average; damped when a high score came at about this time of day in an
   * earlier cycle (a recurring pattern); raised to the reading's `spatial`
   * score (from {@link SpatialRange.check}, taken when it was admitted); then
   * damped after a detection.
   */
  score(forecastError: number, seasonalDeviation: number, ts = Number.NaN, spatial = 0): number {
    let score = this.likelihood.score(forecastError)
    if (Number.isFinite(seasonalDeviation)) score = Math.max(score, this.seasonalLikelihood.score(seasonalDeviation))
    if (this.#long !== undefined) {
      score = Math.max(score, this.#long.error.score(forecastError))
      if (Number.isFinite(seasonalDeviation)) score = Math.max(score, this.#long.seasonal.score(seasonalDeviation))
    }
    if (this.#recurrence !== undefined && this.#slots !== undefined && Number.isFinite(ts)) {
      const s = this.#likelihoodSettings
      if (this.#recurrence.recall(seasonalBin(ts, this.#slots), score) >= s.detectionLevel) score *= s.suppressionFactor
    }
    return this.damper.damp(Math.max(score, spatial))
  }

  /**
   * Decides whether a reading enters the stream, and restarts the window after
   * a gap. Call before reading the window for this reading's forecast.
   */

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
