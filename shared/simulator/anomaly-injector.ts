import type { RandomSource } from './seeded-random.js'
import type { SensorKindProfile } from './sensor-kinds.js'

export const ANOMALY_KINDS = ['spike', 'stuck', 'dropout'] as const
export type AnomalyKind = (typeof ANOMALY_KINDS)[number]

/** How often each kind is chosen once an anomaly starts: spikes are the common fault. */
const KIND_WEIGHTS: Record<AnomalyKind, number> = { spike: 0.5, stuck: 0.25, dropout: 0.25 }
/** A stuck sensor repeats itself for 30 s to 5 min; a dropout lasts 10 s to 2 min. */
const STUCK_SECONDS = [30, 300] as const
const DROPOUT_SECONDS = [10, 120] as const

export interface AnomalyInjectorOptions {
  /** Chance per second of sensor time that an anomaly starts (0 disables them). */
  chancePerSecond: number
  /** The sensor's reading rate, to turn chances and durations per second into per reading. */
  readingsPerSecond: number
}

export interface InjectedReading {
  /** The value to publish, or undefined while the sensor has dropped out. */
  value: number | undefined
  /** Set on the reading where an anomaly begins. */
  started?: AnomalyKind
}

type State = { mode: 'normal' } | { mode: 'stuck'; remaining: number; value: number } | { mode: 'dropout'; remaining: number }

/**
 * Turns a clean signal into a faulty one now and then: single spikes, a value
 * stuck for a while (frozen ADC, iced anemometer), or a dropout (no readings:
 * the sensor lost power or radio). Uses its own random stream so switching
 * anomalies on or off leaves the clean signal of a seeded run unchanged.
 */
export class AnomalyInjector {
  readonly #random: RandomSource
  readonly #options: AnomalyInjectorOptions
  readonly #profile: SensorKindProfile
  /**
   * Per second rather than per reading: a sensor at 1000 readings/s should not
   * fail a thousand times more often than one at 1 reading/s.
   */
  readonly #chancePerReading: number
  #state: State = { mode: 'normal' }

  constructor(profile: SensorKindProfile, random: RandomSource, options: AnomalyInjectorOptions) {
    this.#profile = profile
    this.#random = random
    this.#options = options
    this.#chancePerReading = Math.min(1, options.chancePerSecond / options.readingsPerSecond)
  }

  apply(value: number): InjectedReading {
    const state = this.#state
    if (state.mode === 'stuck') {
      if (--state.remaining <= 0) this.#state = { mode: 'normal' }
      return { value: state.value }
    }
    if (state.mode === 'dropout') {
      if (--state.remaining <= 0) this.#state = { mode: 'normal' }
      return { value: undefined }
    }
    if (this.#chancePerReading <= 0 || this.#random.next() >= this.#chancePerReading) return { value }
    const kind = this.#chooseKind()
    switch (kind) {
      case 'spike': {
        const size = this.#profile.spikeMagnitude * this.#random.between(0.6, 1)
        const sign = this.#profile.spikeDirection === 'up' || this.#random.next() < 0.5 ? 1 : -1
        return { value: value + sign * size, started: kind }
      }
      case 'stuck':
        // This reading is the first of the frozen run.
        this.#state = { mode: 'stuck', remaining: this.#readingsFor(STUCK_SECONDS) - 1, value }
        return { value, started: kind }
      case 'dropout':
        this.#state = { mode: 'dropout', remaining: this.#readingsFor(DROPOUT_SECONDS) - 1 }
        return { value: undefined, started: kind }
    }
  }

  #chooseKind(): AnomalyKind {
    let pick = this.#random.next()
    for (const kind of ANOMALY_KINDS) {
      pick -= KIND_WEIGHTS[kind]
      if (pick < 0) return kind
    }
    return 'spike'
  }

  #readingsFor([minSeconds, maxSeconds]: readonly [number, number]): number {
    return Math.max(2, Math.round(this.#random.between(minSeconds, maxSeconds) * this.#options.readingsPerSecond))
  }
}
