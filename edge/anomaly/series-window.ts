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
 */
import { RunningMean } from './running-mean.js'

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
}

export class SeriesWindow {
  readonly size: number
  readonly #settings: NormalisationSettings
  readonly #values: Float64Array
  #filled = 0
  #next = 0
  readonly #windowVariance: RunningMean
  readonly #magnitude: RunningMean

  constructor(size: number, settings: NormalisationSettings = DEFAULT_NORMALISATION) {
    this.size = size
    this.#settings = settings
    this.#values = new Float64Array(size)
    this.#windowVariance = new RunningMean(settings.scaleHorizon)
    this.#magnitude = new RunningMean(settings.scaleHorizon)
  }

  /** True once the window holds `size` values. */
  get ready(): boolean {
    return this.#filled === this.size
  }

  /** Appends a finite value (the caller filters NaN and infinities). */
  push(value: number): void {
    this.#values[this.#next] = value
    this.#next = (this.#next + 1) % this.size
    if (this.#filled < this.size) this.#filled++
    this.#magnitude.update(Math.abs(value))
    if (this.ready) this.#windowVariance.update(this.#currentWindowVariance())
  }

  /** Empties the window (after a gap) but keeps the learnt scale. */
  restart(): void {
    this.#filled = 0
    this.#next = 0
  }

  /**
   * Writes the normalised window, oldest first, into `out` at `offset` and
   * returns the frame it used. Call only when `ready`.
   */
  writeNormalised(out: Float32Array, offset: number): WindowFrame {
    const frame = this.frame()
    const { clip } = this.#settings
    for (let k = 0; k < this.size; k++) {
      const value = this.#values[(this.#next + k) % this.size] as number
      out[offset + k] = clamp((value - frame.centre) / frame.scale, clip)
    }
    return frame
  }

  frame(): WindowFrame {
    let sum = 0
    for (let k = 0; k < this.size; k++) sum += this.#values[k] as number
    const centre = sum / this.size
    const { relativeScaleFloor, absoluteScaleFloor } = this.#settings
    const scale = Math.max(Math.sqrt(this.#windowVariance.mean), relativeScaleFloor * this.#magnitude.mean, absoluteScaleFloor)
    return { centre, scale }
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
