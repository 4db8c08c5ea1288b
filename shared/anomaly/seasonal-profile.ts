/**
 * A series' typical value by time of day: `bins` slots over a period (a UTC
 * day by default), each an exponentially weighted average of the readings that
 * fell in it. It lets the forecaster see "what this sensor usually reads at this
 * hour", so a daily cycle (a shift starting, a nightly batch job) is expected
 * rather than flagged every day. Constant memory per series whatever the
 * reading rate.
 */
export interface SeasonalSettings {
  /** Length of the cycle, ms (86,400,000: a day). */
  readonly periodMs: number
  /** Slots per period. */
  readonly bins: number
  /** Weight of a new reading in its slot (1: the last period only). */
  readonly smoothing: number
}

export const DEFAULT_SEASONAL: SeasonalSettings = { periodMs: 86_400_000, bins: 288, smoothing: 0.5 }

/** The slot of `ts` in its cycle. */
export function seasonalBin(ts: number, settings: SeasonalSettings): number {
  const { periodMs, bins } = settings
  const phase = ((ts % periodMs) + periodMs) % periodMs
  return Math.min(bins - 1, Math.floor((phase / periodMs) * bins))
}

export class SeasonalProfile {
  readonly #settings: SeasonalSettings
  readonly #values: Float64Array
  #firstTs: number | undefined
  #lastTs: number | undefined

  constructor(settings: SeasonalSettings = DEFAULT_SEASONAL) {
    this.#settings = settings
    this.#values = new Float64Array(settings.bins).fill(Number.NaN)
  }

  /** True once the profile has seen a whole period of readings. */
  get complete(): boolean {
    return this.#firstTs !== undefined && this.#lastTs !== undefined && this.#lastTs - this.#firstTs >= this.#settings.periodMs
  }

  binOf(ts: number): number {
    return seasonalBin(ts, this.#settings)
  }

  add(ts: number, value: number): void {
    this.#firstTs ??= ts
    this.#lastTs = ts
    const bin = this.binOf(ts)
    const current = this.#values[bin] as number
    this.#values[bin] = Number.isNaN(current) ? value : current + this.#settings.smoothing * (value - current)
  }

  /** The slot's value at `ts`, NaN when no reading has fallen in it yet. */
  at(ts: number): number {
    return this.#values[this.binOf(ts)] as number
  }
}
