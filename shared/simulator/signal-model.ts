import type { RandomSource } from './seeded-random.js'
import type { SensorKindProfile } from './sensor-kinds.js'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** Drift reverts to zero over about a day, so a long run wanders but never runs away. */
const DRIFT_REVERSION_HOURS = 24

/**
 * The daily cycle at `ts`: a 24 h cosine over the UTC time of day, `amplitude`
 * at `peakHourUtc`, `-amplitude` twelve hours later. UTC rather than the
 * machine's zone so a seeded run gives the same values everywhere.
 */
export function dailyCycle(ts: number, amplitude: number, peakHourUtc: number): number {
  const hourOfDay = (((ts % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS
  return amplitude * Math.cos((2 * Math.PI * (hourOfDay - peakHourUtc)) / 24)
}

/**
 * One sensor's undisturbed signal: its own baseline and phase (drawn once),
 * the daily cycle, a slow mean-reverting drift (Ornstein-Uhlenbeck) and
 * gaussian measurement noise. Each call to `valueAt` advances the drift, so
 * call it with non-decreasing timestamps.
 */
export class SensorSignal {
  readonly profile: SensorKindProfile
  readonly baseline: number
  readonly peakHourUtc: number
  readonly #random: RandomSource
  #drift = 0
  #lastTs: number | undefined
  #stepHours = Number.NaN
  #stepDecay = 1
  #stepStdDev = 0

  constructor(profile: SensorKindProfile, random: RandomSource) {
    this.profile = profile
    this.#random = random
    this.baseline = profile.baseline + random.between(-profile.baselineSpread, profile.baselineSpread)
    this.peakHourUtc = profile.peakHourUtc + random.between(-1, 1)
  }

  /** The cycle without noise or drift: what the sensor would read in a perfect world. */
  expectedAt(ts: number): number {
    return this.baseline + dailyCycle(ts, this.profile.dailyAmplitude, this.peakHourUtc)
  }

  valueAt(ts: number): number {
    const hours = this.#lastTs === undefined ? 0 : Math.max(0, ts - this.#lastTs) / HOUR_MS
    this.#lastTs = ts
    // Exact OU step: the decay and the variance added over `hours`, whatever
    // the reading rate. At a steady rate `hours` repeats: reuse the step
    // (same numbers, no exp/sqrt per reading; long simulated backlogs).
    if (hours !== this.#stepHours) {
      this.#stepHours = hours
      this.#stepDecay = Math.exp(-hours / DRIFT_REVERSION_HOURS)
      this.#stepStdDev = this.profile.driftPerSqrtHour * Math.sqrt((DRIFT_REVERSION_HOURS / 2) * (1 - this.#stepDecay * this.#stepDecay))
    }
    const decay = this.#stepDecay
    const stepStdDev = this.#stepStdDev
    // Draw both normals on every call so the sequence depends only on the seed and the call count.
    const driftShock = this.#random.gaussian()
    const noise = this.#random.gaussian()
    this.#drift = this.#drift * decay + stepStdDev * driftShock
    return this.expectedAt(ts) + this.#drift + this.profile.noiseStdDev * noise
  }
}
