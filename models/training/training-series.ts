/**
 * Synthetic training series: the simulator's sensor signals (shared/simulator)
 * sampled at several rates, plus generic families that real telemetry is made
 * of (seasonal cycles of many periods, autoregressive noise and random walks,
 * square waves, regular spikes, quantised utilisation-like levels, sawtooths,
 * and mixtures of them). Only normal behaviour: the forecaster learns what
 * "usual" looks like; the likelihood stage decides what is unusual per series.
 *
 * Nothing here reads a dataset: a model trained on these generators cannot
 * memorise the NAB files it is later scored on.
 */
import type { RandomSource } from '../../shared/simulator/seeded-random.js'
import { SENSOR_KINDS, sensorKindProfile } from '../../shared/simulator/sensor-kinds.js'
import { SensorSignal } from '../../shared/simulator/signal-model.js'

export const SERIES_FAMILIES = ['sensor', 'seasonal', 'autoregressive', 'square', 'spikes', 'levels', 'sawtooth', 'mixture'] as const
export type SeriesFamily = (typeof SERIES_FAMILIES)[number]

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
/** Reading intervals drawn for a series: mostly minutes, as sensors and metrics report. */
const INTERVALS_MINUTES = [1, 5, 5, 5, 10, 15, 30, 60]

/** One training series: readings `intervalMs` apart from `startTs`. */
export interface TrainingSeries {
  readonly values: Float64Array
  readonly startTs: number
  readonly intervalMs: number
}

/** `count` series of `length` values, families taken in turn, parameters drawn from `random`. */
export function generateTrainingSeries(count: number, length: number, random: RandomSource): TrainingSeries[] {
  const series: TrainingSeries[] = []
  for (let k = 0; k < count; k++) {
    const family = SERIES_FAMILIES[k % SERIES_FAMILIES.length] as SeriesFamily
    const intervalMs = (INTERVALS_MINUTES[Math.floor(random.next() * INTERVALS_MINUTES.length)] as number) * MINUTE_MS
    const startTs = Date.UTC(2026, 0, 1) + Math.floor(random.next() * 288) * 300_000
    series.push({ values: generateSeries(family, length, random, intervalMs, startTs), startTs, intervalMs })
  }
  return series
}

/** Readings per day at this interval: the period of a daily cycle, in readings. */
function dailyPeriod(intervalMs: number): number {
  return DAY_MS / intervalMs
}

export function generateSeries(family: SeriesFamily, length: number, random: RandomSource, intervalMs: number, startTs: number): Float64Array {
  switch (family) {
    case 'sensor':
      return sensorSeries(length, random, intervalMs, startTs)
    case 'seasonal':
      return seasonalSeries(length, random, random.next() < 0.5 ? dailyPeriod(intervalMs) : undefined, startTs / intervalMs)
    case 'autoregressive':
      return autoregressiveSeries(length, random)
    case 'square':
      return squareSeries(length, random, random.next() < 0.5 ? dailyPeriod(intervalMs) : undefined, startTs / intervalMs)
    case 'spikes':
      return spikeSeries(length, random)
    case 'levels':
      return levelSeries(length, random)
    case 'sawtooth':
      return sawtoothSeries(length, random)
    case 'mixture': {
      const parts: SeriesFamily[] = ['seasonal', 'autoregressive', 'square', 'spikes', 'sawtooth']
      const a = generateSeries(parts[Math.floor(random.next() * parts.length)] as SeriesFamily, length, random, intervalMs, startTs)
      const b = generateSeries(parts[Math.floor(random.next() * parts.length)] as SeriesFamily, length, random, intervalMs, startTs)
      const weight = random.between(0.1, 0.6)
      return a.map((x, t) => x + weight * (b[t] as number))
    }
  }
}

function logUniform(random: RandomSource, min: number, max: number): number {
  return Math.exp(random.between(Math.log(min), Math.log(max)))
}

function sensorSeries(length: number, random: RandomSource, intervalMs: number, start: number): Float64Array {
  const kind = SENSOR_KINDS[Math.floor(random.next() * SENSOR_KINDS.length)] ?? 'temperature'
  const profile = sensorKindProfile(kind)
  const signal = new SensorSignal(profile, random)
  const factor = 10 ** profile.decimals
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) {
    const value = Math.min(profile.max, Math.max(profile.min, signal.valueAt(start + t * intervalMs)))
    out[t] = Math.round(value * factor) / factor
  }
  return out
}

/** A cycle of `period` readings (drawn when not given: a cycle that is not daily); `origin` aligns a daily one to the clock. */
function seasonalSeries(length: number, random: RandomSource, dailyPeriodReadings: number | undefined, origin: number): Float64Array {
  const period = dailyPeriodReadings ?? logUniform(random, 8, 600)
  const phase = dailyPeriodReadings === undefined ? random.between(0, 2 * Math.PI) : (2 * Math.PI * origin) / period + random.between(0, 2 * Math.PI)
  const harmonic = random.next() < 0.5 ? random.between(0, 0.6) : 0
  const noise = logUniform(random, 0.005, 0.5)
  const trend = random.next() < 0.3 ? random.between(-2, 2) / length : 0
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) {
    const angle = (2 * Math.PI * t) / period + phase
    out[t] = Math.sin(angle) + harmonic * Math.sin(2 * angle + phase) + trend * t + noise * random.gaussian()
  }
  return out
}

function autoregressiveSeries(length: number, random: RandomSource): Float64Array {
  const coefficient = random.next() < 0.25 ? 1 : random.between(0, 0.995)
  const out = new Float64Array(length)
  let x = 0
  for (let t = 0; t < length; t++) {
    x = coefficient * x + random.gaussian()
    out[t] = x
  }
  return out
}

function squareSeries(length: number, random: RandomSource, dailyPeriodReadings: number | undefined, origin: number): Float64Array {
  const period = dailyPeriodReadings ?? logUniform(random, 6, 400)
  const duty = random.between(0.2, 0.8)
  const offset = dailyPeriodReadings === undefined ? random.next() * period : origin + random.next() * period
  const noise = logUniform(random, 0.002, 0.2)
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) out[t] = (((t + offset) % period) / period < duty ? 1 : 0) + noise * random.gaussian()
  return out
}

function spikeSeries(length: number, random: RandomSource): Float64Array {
  const period = Math.round(logUniform(random, 5, 300))
  const height = random.between(2, 10)
  const width = 1 + Math.floor(random.next() * 3)
  const noise = random.between(0.05, 0.5)
  const offset = Math.floor(random.next() * period)
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) out[t] = ((t + offset) % period < width ? height : 0) + noise * Math.abs(random.gaussian())
  return out
}

function levelSeries(length: number, random: RandomSource): Float64Array {
  // Utilisation-like: a level with noise, rounded to a resolution, with rare regime changes.
  const resolution = [0, 0.01, 0.1, 1][Math.floor(random.next() * 4)] as number
  const noise = logUniform(random, 0.01, 1)
  const changeChance = random.next() < 0.5 ? 0 : 0.002
  let level = random.between(0, 10)
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) {
    if (random.next() < changeChance) level += random.gaussian() * 3 * noise
    const value = level + noise * random.gaussian()
    out[t] = resolution > 0 ? Math.round(value / resolution) * resolution : value
  }
  return out
}

function sawtoothSeries(length: number, random: RandomSource): Float64Array {
  const period = logUniform(random, 10, 400)
  const rising = random.next() < 0.5
  const noise = logUniform(random, 0.005, 0.2)
  const offset = random.next() * period
  const out = new Float64Array(length)
  for (let t = 0; t < length; t++) {
    const phase = ((t + offset) % period) / period
    out[t] = (rising ? phase : 1 - phase) + noise * random.gaussian()
  }
  return out
}
