import { describe, expect, it } from 'vitest'
import { AnomalyInjector } from '../../shared/simulator/anomaly-injector.js'
import { deriveSeed, seededRandom } from '../../shared/simulator/seeded-random.js'
import { SENSOR_KINDS, sensorKindProfile } from '../../shared/simulator/sensor-kinds.js'
import { createSensorFleet, sensorIds, SimulatedSensor } from '../../shared/simulator/sensor-fleet.js'
import { dailyCycle, SensorSignal } from '../../shared/simulator/signal-model.js'

const HOUR = 3_600_000
const MIDNIGHT = Date.UTC(2026, 0, 15)

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const take = (seed: number) => {
      const random = seededRandom(seed)
      return Array.from({ length: 20 }, () => random.next())
    }
    expect(take(42)).toEqual(take(42))
    expect(take(42)).not.toEqual(take(43))
    for (const x of take(7)) {
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
    }
  })

  it('matches the published mulberry32 sequence (a library swap or typo would change every seeded run)', () => {
    const random = seededRandom(0)
    // mulberry32(0) reference values, to 9 decimals.
    expect(random.next()).toBeCloseTo(0.26642920868471265, 9)
    expect(random.next()).toBeCloseTo(0.0003297457005828619, 9)
  })

  it('draws standard normals: mean about 0, standard deviation about 1', () => {
    const random = seededRandom(1)
    const samples = Array.from({ length: 20_000 }, () => random.gaussian())
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    const sd = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length)
    expect(Math.abs(mean)).toBeLessThan(0.03)
    expect(sd).toBeGreaterThan(0.97)
    expect(sd).toBeLessThan(1.03)
  })

  it('derives different, stable seeds per label', () => {
    expect(deriveSeed(1, 'sim-01/signal')).toBe(deriveSeed(1, 'sim-01/signal'))
    expect(deriveSeed(1, 'sim-01/signal')).not.toBe(deriveSeed(1, 'sim-02/signal'))
    expect(deriveSeed(1, 'sim-01/signal')).not.toBe(deriveSeed(2, 'sim-01/signal'))
  })
})

describe('dailyCycle', () => {
  it('peaks at the peak hour, bottoms out 12 h later and repeats every 24 h', () => {
    expect(dailyCycle(MIDNIGHT + 15 * HOUR, 3, 15)).toBeCloseTo(3, 9)
    expect(dailyCycle(MIDNIGHT + 3 * HOUR, 3, 15)).toBeCloseTo(-3, 9)
    expect(dailyCycle(MIDNIGHT + 9 * HOUR, 3, 15)).toBeCloseTo(0, 9)
    for (let h = 0; h < 24; h += 0.5) {
      expect(dailyCycle(MIDNIGHT + h * HOUR + 24 * HOUR, 3, 15)).toBeCloseTo(dailyCycle(MIDNIGHT + h * HOUR, 3, 15), 9)
    }
  })

  it('works for timestamps before 1970 too', () => {
    expect(dailyCycle(-9 * HOUR, 1, 15)).toBeCloseTo(1, 9)
  })
})

describe('SensorSignal', () => {
  const profile = sensorKindProfile('temperature')

  it('is deterministic for a seed and given timestamps', () => {
    const run = (seed: number) => {
      const signal = new SensorSignal(profile, seededRandom(seed))
      return Array.from({ length: 100 }, (_, i) => signal.valueAt(MIDNIGHT + i * 1000))
    }
    expect(run(5)).toEqual(run(5))
    expect(run(5)).not.toEqual(run(6))
  })

  it('follows the daily cycle: hourly means over a day track expectedAt within the noise', () => {
    const signal = new SensorSignal(profile, seededRandom(9))
    const afternoon: number[] = []
    const night: number[] = []
    for (let t = MIDNIGHT; t < MIDNIGHT + 24 * HOUR; t += 10_000) {
      const value = signal.valueAt(t)
      const hour = (t - MIDNIGHT) / HOUR
      expect(Math.abs(value - signal.expectedAt(t))).toBeLessThan(3)
      if (Math.abs(hour - signal.peakHourUtc) < 1) afternoon.push(value)
      if (Math.abs(hour - ((signal.peakHourUtc + 12) % 24)) < 1) night.push(value)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    // Peak minus trough is about twice the amplitude (7 degrees), drift and noise aside.
    expect(mean(afternoon) - mean(night)).toBeGreaterThan(profile.dailyAmplitude * 1.4)
    expect(mean(afternoon) - mean(night)).toBeLessThan(profile.dailyAmplitude * 2.6)
  })

  it('keeps drift bounded over a long run (mean reversion)', () => {
    const signal = new SensorSignal(profile, seededRandom(3))
    let worst = 0
    for (let t = MIDNIGHT; t < MIDNIGHT + 30 * 24 * HOUR; t += 60_000) {
      worst = Math.max(worst, Math.abs(signal.valueAt(t) - signal.expectedAt(t)))
    }
    expect(worst).toBeLessThan(3)
    expect(worst).toBeGreaterThan(0.3)
  })
})

describe('AnomalyInjector', () => {
  const profile = sensorKindProfile('vibration')

  it('never touches the signal at chance 0', () => {
    const injector = new AnomalyInjector(profile, seededRandom(1), { chancePerSecond: 0, readingsPerSecond: 1 })
    for (let i = 0; i < 1000; i++) expect(injector.apply(i)).toEqual({ value: i })
  })

  it('produces spikes, stuck runs and dropouts, each shaped as described', () => {
    const injector = new AnomalyInjector(profile, seededRandom(2), { chancePerSecond: 0.05, readingsPerSecond: 1 })
    const seen = { spike: 0, stuck: 0, dropout: 0 }
    let i = 0
    while ((seen.spike === 0 || seen.stuck === 0 || seen.dropout === 0) && i < 100_000) {
      const reading = injector.apply(3)
      i++
      if (reading.started === 'spike') {
        // Vibration spikes only go up, by 60-100 % of the magnitude.
        expect(reading.value).toBeGreaterThanOrEqual(3 + 0.6 * profile.spikeMagnitude)
        expect(reading.value).toBeLessThanOrEqual(3 + profile.spikeMagnitude)
      }
      if (reading.started === 'stuck') {
        // The next readings repeat the frozen value although the input changes.
        for (let k = 0; k < 29; k++) expect(injector.apply(100 + k).value).toBe(3)
        i += 29
      }
      if (reading.started === 'dropout') {
        expect(reading.value).toBeUndefined()
        for (let k = 0; k < 9; k++) expect(injector.apply(5).value).toBeUndefined()
        i += 9
      }
      if (reading.started !== undefined) seen[reading.started]++
    }
    expect(seen.spike).toBeGreaterThan(0)
    expect(seen.stuck).toBeGreaterThan(0)
    expect(seen.dropout).toBeGreaterThan(0)
  })

  it('scales the chance per reading with the rate, so anomalies per hour stay the same', () => {
    const startsPerHour = (readingsPerSecond: number) => {
      const injector = new AnomalyInjector(profile, seededRandom(4), { chancePerSecond: 0.01, readingsPerSecond })
      let starts = 0
      for (let i = 0; i < 3600 * readingsPerSecond * 4; i++) if (injector.apply(1).started !== undefined) starts++
      return starts / 4
    }
    const slow = startsPerHour(1)
    const fast = startsPerHour(20)
    // Expected about 36 minus the time spent inside stuck/dropout runs.
    expect(slow).toBeGreaterThan(10)
    expect(fast).toBeGreaterThan(10)
    expect(fast / slow).toBeGreaterThan(0.5)
    expect(fast / slow).toBeLessThan(2)
  })
})

describe('sensor fleet', () => {
  it('names sensors with zero-padded ids and cycles through the kinds', () => {
    expect(sensorIds('sim', 3)).toEqual(['sim-01', 'sim-02', 'sim-03'])
    expect(sensorIds('line', 120)[119]).toBe('line-120')
    expect(sensorIds('line', 120)[0]).toBe('line-001')
    const fleet = createSensorFleet({ sensorCount: 7, idPrefix: 'sim', seed: 1, readingsPerSecond: 1, anomalyChancePerSecond: 0 })
    expect(fleet.map((s) => s.kind)).toEqual([...SENSOR_KINDS, 'temperature', 'humidity'])
    expect(fleet[2]?.topic).toBe('sensors/sim-03/vibration')
    expect(fleet[2]?.metric).toBe('vibration')
  })

  it('gives each sensor its own stream: adding sensors does not change the others', () => {
    const options = { idPrefix: 'sim', seed: 11, readingsPerSecond: 1, anomalyChancePerSecond: 0.01 }
    const small = createSensorFleet({ ...options, sensorCount: 2 })
    const large = createSensorFleet({ ...options, sensorCount: 6 })
    for (let i = 0; i < 50; i++) {
      const ts = MIDNIGHT + i * 1000
      expect(large[1]?.read(ts)).toEqual(small[1]?.read(ts))
      large[0]?.read(ts)
      small[0]?.read(ts)
    }
  })

  it('reads like a device: rounded to the kind\'s resolution and clamped to its physical range', () => {
    const humidity = new SimulatedSensor('h', 'humidity', 1, { readingsPerSecond: 1, anomalyChancePerSecond: 1 })
    for (let i = 0; i < 2000; i++) {
      const { value } = humidity.read(MIDNIGHT + i * 1000)
      if (value === undefined) continue
      expect(value).toBeGreaterThanOrEqual(0)
      expect(value).toBeLessThanOrEqual(100)
      expect(Math.round(value * 10) / 10).toBe(value)
    }
  })

  it('produces values in each kind\'s plausible range', () => {
    const fleet = createSensorFleet({ sensorCount: 5, idPrefix: 'sim', seed: 2, readingsPerSecond: 1, anomalyChancePerSecond: 0 })
    const ranges: Record<string, [number, number]> = {
      temperature: [10, 32], humidity: [20, 75], vibration: [0, 6], pressure: [5.5, 7.5], power: [0, 90],
    }
    for (const sensor of fleet) {
      const [low, high] = ranges[sensor.kind] as [number, number]
      for (let i = 0; i < 500; i++) {
        const value = sensor.read(MIDNIGHT + i * 60_000).value as number
        expect(value).toBeGreaterThanOrEqual(low)
        expect(value).toBeLessThanOrEqual(high)
      }
    }
  })
})
