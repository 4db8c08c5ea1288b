import { telemetryTopic } from '../../shared/telemetry.js'

/**
 * The readings one publisher sends: realistic, distinct, deterministic.
 *
 * Topics are spread over `sensorCount` sensors `sensors/bench-XX/temperature`.
 * Each sensor belongs to exactly one publisher (sensor s to publisher
 * s % publisherCount), as a real device would, so each series' timestamps
 * arrive in increasing order; a publisher cycles round-robin over its sensors.
 * Values follow a slow sine plus deterministic noise, two decimals, like a
 * temperature probe.
 */
export interface WorkloadSpec {
  publisherIndex: number
  publisherCount: number
  /** Messages this publisher sends. */
  messages: number
  readingsPerMessage: number
  /** Sensors across all publishers (at least one per publisher). */
  sensorCount: number
  /** Timestamp of each sensor's first reading, epoch ms. */
  firstTs: number
  /** Milliseconds between two readings of one sensor. */
  intervalMs: number
}

export const DEFAULT_SENSOR_COUNT = 20
export const DEFAULT_READING_INTERVAL_MS = 10
export const BENCH_METRIC = 'temperature'

export function benchSensorId(sensor: number): string {
  return `bench-${String(sensor).padStart(2, '0')}`
}

/** The sensors a publisher owns. */
export function sensorsOfPublisher(publisherIndex: number, publisherCount: number, sensorCount: number): number[] {
  const sensors: number[] = []
  for (let s = publisherIndex; s < sensorCount; s += publisherCount) sensors.push(s)
  return sensors
}

/** Sensors needed so that every publisher owns at least one. */
export function sensorCountFor(publisherCount: number): number {
  return Math.max(DEFAULT_SENSOR_COUNT, publisherCount)
}

/**
 * Where to start the timestamps so that the whole run lies in the recent past
 * (the edge rejects readings more than an hour ahead of its clock).
 */
export function firstTimestampFor(now: number, readingsPerSensor: number, intervalMs: number): number {
  return Math.floor(now - readingsPerSensor * intervalMs - 60_000)
}

export interface WorkloadMessage {
  topic: string
  payload: string
}

/** Yields the publisher's messages in sending order. */
export function* workloadMessages(spec: WorkloadSpec): Generator<WorkloadMessage> {
  const sensors = sensorsOfPublisher(spec.publisherIndex, spec.publisherCount, spec.sensorCount)
  if (sensors.length === 0) throw new Error(`publisher ${spec.publisherIndex} owns no sensor`)
  const topics = sensors.map((s) => telemetryTopic(benchSensorId(s), BENCH_METRIC))
  const nextReading = new Array<number>(sensors.length).fill(0)
  const noise = lcg(0x9e3779b9 ^ (spec.publisherIndex + 1))
  const reading = (sensorSlot: number): string => {
    const k = nextReading[sensorSlot] as number
    nextReading[sensorSlot] = k + 1
    const sensor = sensors[sensorSlot] as number
    const ts = spec.firstTs + k * spec.intervalMs
    const value = Math.round((20 + sensor * 0.5 + 4 * Math.sin(k / 600) + (noise() - 0.5) * 0.4) * 100) / 100
    return `{"ts":${ts},"value":${value}}`
  }
  for (let m = 0; m < spec.messages; m++) {
    const slot = m % sensors.length
    let payload: string
    if (spec.readingsPerMessage === 1) {
      payload = reading(slot)
    } else {
      const parts = new Array<string>(spec.readingsPerMessage)
      for (let j = 0; j < spec.readingsPerMessage; j++) parts[j] = reading(slot)
      payload = `{"readings":[${parts.join(',')}]}`
    }
    yield { topic: topics[slot] as string, payload }
  }
}

/** A small deterministic generator in [0, 1) (numerical recipes LCG). */
function lcg(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 0x1_0000_0000
  }
}
