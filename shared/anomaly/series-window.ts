/**
 * One series' sliding window and its running normalisation: the part of the
 * pipeline before the network, shared by training (models/training) and
 * inference (edge, `cloudos detect`) so both see identical inputs.
 *
 * A window is presented to the network centred on its own mean and divided by
 * the series' running scale: the square root of the running average of the
 * windows' own variance. Centring makes the model independent of the sensor's
 * level; the running scale makes it independent of the sensor's units while
 * still letting a window that is much wider than usual look unusual. This is
 * the per-sensor online adaptation that lets one model serve sensors it never
 * saw in training.
 *
 * With a seasonal profile, each row also carries what the series usually reads
 * at the time of day of each window position and of the value to forecast
 * (from readings that have left the window, so from earlier periods only), in
 * the same frame, plus a flag saying whether that context is available.
 *
 * Row layout (the model card's input width):
 *   [window values, oldest first] ++ [profile at each window time, profile at the target time, available 0|1]
 */
import { RunningMean } from './running-mean.js'
import { SeasonalProfile, type SeasonalSettings } from './seasonal-profile.js'

export interface NormalisationSettings {
  /** Readings over which the running scale settles, then its exponential horizon. */
  readonly scaleHorizon: number
  /** Normalised inputs and targets are clipped to +/- this. */
  readonly clip: number
  /** The scale never falls below this fraction of the series' typical magnitude (flat series). */
  readonly relativeScaleFloor: number
  /** ... nor below this absolute value (series of zeros). */
  readonly absoluteScaleFloor: number
}

export const DEFAULT_NORMALISATION: NormalisationSettings = {
  scaleHorizon: 2000,
  clip: 8,
  relativeScaleFloor: 1e-3,
  absoluteScaleFloor: 1e-6,
}

/** How a window was normalised: the target and the error are expressed the same way. */
export interface WindowFrame {
  centre: number
  scale: number
  /** The profile's value at the target's time of day, in the frame; NaN without seasonal context. */
  typicalTarget: number
}

/** Values in one network input row for a window of `size`, with or without seasonal context. */
export function featureWidth(size: number, seasonal: boolean): number {
  return seasonal ? 2 * size + 2 : size
}

export class SeriesWindow {
  readonly size: number
  /** Values per network input row. */
  readonly width: number
  readonly #settings: NormalisationSettings
  readonly #values: Float64Array
  readonly #times: Float64Array
  #filled = 0
  #next = 0
  readonly #windowVariance: RunningMean
  readonly #magnitude: RunningMean
  readonly #profile: SeasonalProfile | undefined

  constructor(size: number, settings: NormalisationSettings, seasonal?: SeasonalSettings) {
    this.size = size
    this.width = featureWidth(size, seasonal !== undefined)
    this.#settings = settings
    this.#values = new Float64Array(size)
    this.#times = new Float64Array(size)
    this.#windowVariance = new RunningMean(settings.scaleHorizon)
    this.#magnitude = new RunningMean(settings.scaleHorizon)
    this.#profile = seasonal === undefined ? undefined : new SeasonalProfile(seasonal)
  }

  /** True once the window holds `size` values. */
  get ready(): boolean {
    return this.#filled === this.size
  }

  /** Appends a finite value (the caller filters NaN and infinities); the value it pushes out feeds the profile. */
  push(ts: number, value: number): void {
    if (this.#filled === this.size) this.#profile?.add(this.#times[this.#next] as number, this.#values[this.#next] as number)
    this.#values[this.#next] = value
    this.#times[this.#next] = ts
    this.#next = (this.#next + 1) % this.size
    if (this.#filled < this.size) this.#filled++
    this.#magnitude.update(Math.abs(value))
    if (this.ready) this.#windowVariance.update(this.#currentWindowVariance())
  }

  /** Empties the window (after a gap) but keeps the learnt scale and profile. */
  restart(): void {
    for (let k = 0; k < this.#filled; k++) {
      const slot = (this.#next - this.#filled + k + this.size) % this.size
      this.#profile?.add(this.#times[slot] as number, this.#values[slot] as number)
    }
    this.#filled = 0
    this.#next = 0
  }

  /**
   * Writes the input row for forecasting the reading at `targetTs` into `out`
   * at `offset` and returns the frame it used. Call only when `ready`.
   */
  writeNormalised(out: Float32Array, offset: number, targetTs: number): WindowFrame {
    const frame = this.frame()
    const { clip } = this.#settings
    for (let k = 0; k < this.size; k++) {
      const value = this.#values[(this.#next + k) % this.size] as number
      out[offset + k] = clamp((value - frame.centre) / frame.scale, clip)
    }
    const profile = this.#profile
    if (profile === undefined) return frame
    const base = offset + this.size
    let available = profile.complete
    for (let k = 0; k <= this.size && available; k++) {
      const ts = k < this.size ? (this.#times[(this.#next + k) % this.size] as number) : targetTs
      const typical = profile.at(ts)
      if (Number.isNaN(typical)) available = false
      else out[base + k] = clamp((typical - frame.centre) / frame.scale, clip)
    }
    if (!available) out.fill(0, base, base + this.size + 1)
    out[base + this.size + 1] = available ? 1 : 0
    if (available) frame.typicalTarget = out[base + this.size] as number
    return frame
  }

  frame(): WindowFrame {
    let sum = 0
    for (let k = 0; k < this.size; k++) sum += this.#values[k] as number
    const centre = sum / this.size
    const { relativeScaleFloor, absoluteScaleFloor } = this.#settings
    const scale = Math.max(Math.sqrt(this.#windowVariance.mean), relativeScaleFloor * this.#magnitude.mean, absoluteScaleFloor)
    return { centre, scale, typicalTarget: Number.NaN }
  }

  /** A value expressed in the frame of a window (the forecaster's target). */
  normalise(value: number, frame: WindowFrame): number {
    return clamp((value - frame.centre) / frame.scale, this.#settings.clip)
  }

  #currentWindowVariance(): number {
    let sum = 0
    for (let k = 0; k < this.size; k++) sum += this.#values[k] as number
    const mean = sum / this.size
    let squares = 0
    for (let k = 0; k < this.size; k++) squares += ((this.#values[k] as number) - mean) ** 2
    return squares / this.size
  }
}

function clamp(x: number, limit: number): number {
  return x > limit ? limit : x < -limit ? -limit : x
}
