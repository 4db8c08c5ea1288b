/**
 * What each simulated sensor kind measures and how its signal behaves. The
 * numbers are typical of an indoor industrial site (a factory hall with a
 * compressor line): they only need to look plausible on a dashboard and give
 * anomaly detectors something real-shaped to chew on.
 */

export const SENSOR_KINDS = ['temperature', 'humidity', 'vibration', 'pressure', 'power'] as const
export type SensorKind = (typeof SENSOR_KINDS)[number]

export interface SensorKindProfile {
  readonly kind: SensorKind
  readonly unit: string
  /** Mean level over a day. */
  readonly baseline: number
  /** Sensors of one kind differ by up to this much from `baseline` (uniform, +/-). */
  readonly baselineSpread: number
  /** Half the peak-to-trough swing of the daily cycle. */
  readonly dailyAmplitude: number
  /** UTC hour at which the daily cycle peaks (sensors jitter around it by up to an hour). */
  readonly peakHourUtc: number
  /** Standard deviation of the per-reading measurement noise. */
  readonly noiseStdDev: number
  /** Random-walk drift: standard deviation gained per square root of an hour. */
  readonly driftPerSqrtHour: number
  /** Size of an injected spike; `up` spikes only rise (vibration, power cannot dip below idle). */
  readonly spikeMagnitude: number
  readonly spikeDirection: 'up' | 'both'
  /** Physical limits the reading is clamped to. */
  readonly min: number
  readonly max: number
  /** Resolution of the sensor: readings are rounded to this many decimals. */
  readonly decimals: number
}

const profiles: Record<SensorKind, SensorKindProfile> = {
  temperature: {
    kind: 'temperature', unit: '°C', baseline: 21, baselineSpread: 2, dailyAmplitude: 3.5, peakHourUtc: 15,
    noiseStdDev: 0.15, driftPerSqrtHour: 0.1, spikeMagnitude: 9, spikeDirection: 'both', min: -40, max: 125, decimals: 2,
  },
  humidity: {
    // Relative humidity falls as the air warms, so it peaks before dawn.
    kind: 'humidity', unit: '%RH', baseline: 45, baselineSpread: 5, dailyAmplitude: 9, peakHourUtc: 5,
    noiseStdDev: 0.6, driftPerSqrtHour: 0.4, spikeMagnitude: 25, spikeDirection: 'both', min: 0, max: 100, decimals: 1,
  },
  vibration: {
    // RMS velocity of a machine that runs harder during the day shift.
    kind: 'vibration', unit: 'mm/s', baseline: 2.8, baselineSpread: 0.6, dailyAmplitude: 1.2, peakHourUtc: 14,
    noiseStdDev: 0.25, driftPerSqrtHour: 0.03, spikeMagnitude: 14, spikeDirection: 'up', min: 0, max: 50, decimals: 3,
  },
  pressure: {
    // Compressed-air line pressure: demand in working hours pulls it down a little.
    kind: 'pressure', unit: 'bar', baseline: 6.5, baselineSpread: 0.3, dailyAmplitude: 0.25, peakHourUtc: 2,
    noiseStdDev: 0.03, driftPerSqrtHour: 0.02, spikeMagnitude: 1.8, spikeDirection: 'both', min: 0, max: 16, decimals: 3,
  },
  power: {
    kind: 'power', unit: 'kW', baseline: 42, baselineSpread: 8, dailyAmplitude: 22, peakHourUtc: 13,
    noiseStdDev: 1.2, driftPerSqrtHour: 0.5, spikeMagnitude: 60, spikeDirection: 'up', min: 0, max: 500, decimals: 2,
  },
}

export function sensorKindProfile(kind: SensorKind): SensorKindProfile {
  return profiles[kind]
}

/** Kinds are assigned in turn: sensor 0 is temperature, 1 humidity, ... */
export function kindForSensorIndex(index: number): SensorKind {
  return SENSOR_KINDS[index % SENSOR_KINDS.length] as SensorKind
}
