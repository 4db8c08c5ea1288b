import { telemetryTopic } from '../telemetry.js'
import { AnomalyInjector, type AnomalyKind } from './anomaly-injector.js'
import type { PublishTarget } from './reading-publisher.js'
import { deriveSeed, seededRandom } from './seeded-random.js'
import { kindForSensorIndex, sensorKindProfile, type SensorKind } from './sensor-kinds.js'
import { SensorSignal } from './signal-model.js'

export interface SensorFleetOptions {
  sensorCount: number
  /** Sensor ids are `<prefix>-01`, `<prefix>-02`, ... */
  idPrefix: string
  seed: number
  readingsPerSecond: number
  anomalyChancePerSecond: number
}

export interface SimulatedReading {
  /** Undefined while the sensor has dropped out: nothing is published. */
  value: number | undefined
  anomaly?: AnomalyKind
}

/** One simulated sensor: a clean signal, faults injected, clamped and rounded like a real device. */
export class SimulatedSensor implements PublishTarget {
  readonly sensorId: string
  readonly kind: SensorKind
  /** The metric is the kind: `sensors/sim-01/temperature`. */
  readonly metric: string
  readonly topic: string
  readonly signal: SensorSignal
  readonly #anomalies: AnomalyInjector

  constructor(sensorId: string, kind: SensorKind, seed: number, options: Pick<SensorFleetOptions, 'readingsPerSecond' | 'anomalyChancePerSecond'>) {
    const profile = sensorKindProfile(kind)
    this.sensorId = sensorId
    this.kind = kind
    this.metric = kind
    this.topic = telemetryTopic(sensorId, kind)
    this.signal = new SensorSignal(profile, seededRandom(deriveSeed(seed, `${sensorId}/signal`)))
    this.#anomalies = new AnomalyInjector(profile, seededRandom(deriveSeed(seed, `${sensorId}/anomalies`)), {
      chancePerSecond: options.anomalyChancePerSecond,
      readingsPerSecond: options.readingsPerSecond,
    })
  }

  read(ts: number): SimulatedReading {
    const { value, started } = this.#anomalies.apply(this.signal.valueAt(ts))
    const reading: SimulatedReading = { value: value === undefined ? undefined : this.#asMeasured(value) }
    if (started !== undefined) reading.anomaly = started
    return reading
  }

  #asMeasured(value: number): number {
    const { min, max, decimals } = this.signal.profile
    const scale = 10 ** decimals
    return Math.round(Math.min(max, Math.max(min, value)) * scale) / scale
  }
}

/** Zero-padded so ids sort in order: sim-01..sim-99, sim-001..sim-100 from 100 sensors. */
export function sensorIds(prefix: string, count: number): string[] {
  const width = Math.max(2, String(count).length)
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`)
}

export function createSensorFleet(options: SensorFleetOptions): SimulatedSensor[] {
  return sensorIds(options.idPrefix, options.sensorCount).map(
    (id, index) => new SimulatedSensor(id, kindForSensorIndex(index), options.seed, options),
  )
}
