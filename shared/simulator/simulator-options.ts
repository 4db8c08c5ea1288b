import { IDENTIFIER_PATTERN, type TelemetryReading } from '../telemetry.js'
import type { PublishTarget } from './reading-publisher.js'
import type { ReplayPacing, ReplayTimestamps } from './replay-timing.js'
import type { ConnectionStats, TelemetryTransport } from './telemetry-transport.js'

/** Where to publish: an MQTT URL, or a transport of the caller's (which the simulator does not close). */
export interface ConnectionOptions {
  /** e.g. `mqtt://127.0.0.1:1883`; required unless `transport` is given. */
  mqttUrl?: string
  transport?: TelemetryTransport
  clientId?: string
  /** How long the first connection may take, retries included. Default 10 000. */
  connectTimeoutMs?: number
  onConnectionChange?: (event: 'lost' | 'restored', stats: ConnectionStats) => void
}

export interface PublishOptions {
  /** Default 1: each message waits for the edge's commit. */
  qos?: 0 | 1
  /** Readings per message (the `{"readings": [...]}` batch form above 1). Default 1, at most 10 000. */
  readingsPerMessage?: number
  /** Messages published but not yet acknowledged, at most. Default 256. */
  maxInFlight?: number
  /** At the end, how long to wait for outstanding acknowledgements. Default 5 000. */
  drainTimeoutMs?: number
  /** Stop after this many readings in total. Default: no limit. */
  maxReadings?: number
  /** Stop after this long. Default: no limit. */
  durationMs?: number
  /** Sees every message as it is handed to the transport. */
  onPublish?: (target: PublishTarget, readings: readonly TelemetryReading[]) => void
}

export interface SimulatorOptions extends ConnectionOptions, PublishOptions {
  /** Default 5, at most 10 000. */
  sensorCount?: number
  /** Sensor ids are `<idPrefix>-01`...; default `sim`. */
  idPrefix?: string
  /** Per sensor; fractions allowed. Default 1, at most 100 000. */
  readingsPerSecond?: number
  /**
   * Chance per sensor per second that an anomaly (spike, stuck value, dropout) starts, whatever the
   * reading rate. Default 0.001 (about one per sensor every 17 minutes); 0 disables.
   */
  anomalyChancePerSecond?: number
  /** Same seed and same timestamps give the same values. Default: random (reported in `description`). */
  seed?: number
}

export interface ReplayOptions extends ConnectionOptions, PublishOptions {
  /** A `timestamp,value` CSV file. */
  file: string
  /** Default: the file's base name in the id charset. */
  sensorId?: string
  /** Default `value`. */
  metric?: string
  /** Default `{ kind: 'rate', rowsPerSecond: 100 }`. */
  pacing?: ReplayPacing
  /** Default `shift`. */
  timestamps?: ReplayTimestamps
}

export const PUBLISH_DEFAULTS = {
  qos: 1 as 0 | 1,
  readingsPerMessage: 1,
  maxInFlight: 256,
  drainTimeoutMs: 5000,
  connectTimeoutMs: 10_000,
} as const

export const SIMULATOR_DEFAULTS = {
  sensorCount: 5,
  idPrefix: 'sim',
  readingsPerSecond: 1,
  anomalyChancePerSecond: 0.001,
} as const

export const LIMITS = {
  sensorCount: 10_000,
  readingsPerSecond: 100_000,
  // The edge's default ingest.maxReadingsPerMessage.
  readingsPerMessage: 10_000,
  // MQTT packet identifiers are 16 bits.
  maxInFlight: 65_535,
} as const

/** Checks options at construction, naming the option and what it accepts (as undici does). */
export function checkPublishOptions(options: ConnectionOptions & PublishOptions): void {
  if (options.transport === undefined && (typeof options.mqttUrl !== 'string' || !/^mqtts?:\/\//.test(options.mqttUrl))) {
    throw new TypeError(`mqttUrl must be an mqtt:// or mqtts:// URL (got ${JSON.stringify(options.mqttUrl)}), or pass a transport`)
  }
  if (options.qos !== undefined && options.qos !== 0 && options.qos !== 1) throw new RangeError(`qos must be 0 or 1 (got ${String(options.qos)})`)
  checkInteger('readingsPerMessage', options.readingsPerMessage, 1, LIMITS.readingsPerMessage)
  checkInteger('maxInFlight', options.maxInFlight, 1, LIMITS.maxInFlight)
  checkNumber('drainTimeoutMs', options.drainTimeoutMs, 0, Number.MAX_SAFE_INTEGER)
  checkNumber('connectTimeoutMs', options.connectTimeoutMs, 0, Number.MAX_SAFE_INTEGER)
  checkInteger('maxReadings', options.maxReadings, 1, Number.MAX_SAFE_INTEGER)
  checkNumber('durationMs', options.durationMs, 0, Number.MAX_SAFE_INTEGER)
}

export function checkSimulatorOptions(options: SimulatorOptions): void {
  checkPublishOptions(options)
  checkInteger('sensorCount', options.sensorCount, 1, LIMITS.sensorCount)
  checkPositive('readingsPerSecond', options.readingsPerSecond, LIMITS.readingsPerSecond)
  checkNumber('anomalyChancePerSecond', options.anomalyChancePerSecond, 0, 1)
  checkInteger('seed', options.seed, 0, 0xffffffff)
  if (options.idPrefix !== undefined) {
    const longestId = `${options.idPrefix}-${'0'.repeat(Math.max(2, String(options.sensorCount ?? SIMULATOR_DEFAULTS.sensorCount).length))}`
    if (!IDENTIFIER_PATTERN.test(longestId)) {
      throw new RangeError(`idPrefix must make ids of 1-64 characters of A-Z a-z 0-9 _ - . : (got ${JSON.stringify(options.idPrefix)})`)
    }
  }
}

export function checkReplayOptions(options: ReplayOptions): void {
  checkPublishOptions(options)
  if (typeof options.file !== 'string' || options.file === '') throw new TypeError('file must be the path of a timestamp,value CSV file')
  for (const key of ['sensorId', 'metric'] as const) {
    const value = options[key]
    if (value !== undefined && !IDENTIFIER_PATTERN.test(value)) {
      throw new RangeError(`${key} must be 1-64 characters of A-Z a-z 0-9 _ - . : (got ${JSON.stringify(value)})`)
    }
  }
  const pacing = options.pacing
  if (pacing?.kind === 'speed') checkPositive('pacing.speed', pacing.speed, Number.MAX_SAFE_INTEGER)
  if (pacing?.kind === 'rate') checkPositive('pacing.rowsPerSecond', pacing.rowsPerSecond, LIMITS.readingsPerSecond)
  if (options.timestamps !== undefined && options.timestamps !== 'shift' && options.timestamps !== 'original') {
    throw new RangeError(`timestamps must be "shift" or "original" (got ${JSON.stringify(options.timestamps)})`)
  }
}

function checkInteger(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${value})`)
  }
}

function checkNumber(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (!Number.isFinite(value) || value < min || value > max)) {
    throw new RangeError(`${name} must be a number from ${min} to ${max} (got ${value})`)
  }
}

function checkPositive(name: string, value: number | undefined, max: number): void {
  if (value !== undefined && (!Number.isFinite(value) || value <= 0 || value > max)) {
    throw new RangeError(`${name} must be a number above 0 and at most ${max} (got ${value})`)
  }
}
