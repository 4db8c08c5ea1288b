import type { TelemetryReading } from '../telemetry.js'
import type { AnomalyKind } from './anomaly-injector.js'
import { openTransport } from './mqtt-transport.js'
import { ReadingPublisher } from './reading-publisher.js'
import { SENSOR_KINDS } from './sensor-kinds.js'
import { createSensorFleet, type SimulatedSensor } from './sensor-fleet.js'
import { startRun, type FinishReason, type RunControl, type SimulatorHandle } from './simulation-run.js'
import { checkSimulatorOptions, PUBLISH_DEFAULTS, SIMULATOR_DEFAULTS, type SimulatorOptions } from './simulator-options.js'

/** A long catch-up burst (after backpressure) still lets acks and timers run this often. */
const READINGS_BETWEEN_YIELDS = 1000

interface Schedule {
  sensors: SimulatedSensor[]
  readingsPerSecond: number
  readingsPerMessage: number
  maxReadings: number
  durationMs: number
  publisher: ReadingPublisher
  anomalies: Record<AnomalyKind, number>
  dropped: { readings: number }
}

/**
 * Starts publishing generated readings: `sensorCount` sensors, each at
 * `readingsPerSecond`, until `maxReadings`, `durationMs` or `stop()`.
 * Resolves once connected and publishing.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  checkSimulatorOptions(options)
  const sensorCount = options.sensorCount ?? SIMULATOR_DEFAULTS.sensorCount
  const readingsPerSecond = options.readingsPerSecond ?? SIMULATOR_DEFAULTS.readingsPerSecond
  const readingsPerMessage = options.readingsPerMessage ?? PUBLISH_DEFAULTS.readingsPerMessage
  const qos = options.qos ?? PUBLISH_DEFAULTS.qos
  const seed = options.seed ?? Math.floor(Math.random() * 0x100000000)
  const sensors = createSensorFleet({
    sensorCount,
    idPrefix: options.idPrefix ?? SIMULATOR_DEFAULTS.idPrefix,
    seed,
    readingsPerSecond,
    anomalyChancePerSecond: options.anomalyChancePerSecond ?? SIMULATOR_DEFAULTS.anomalyChancePerSecond,
  })
  const { transport, owned } = await openTransport(options)
  const publisher = new ReadingPublisher(transport, {
    qos,
    maxInFlight: options.maxInFlight ?? PUBLISH_DEFAULTS.maxInFlight,
    onPublish: options.onPublish,
  })
  const anomalies: Record<AnomalyKind, number> = { spike: 0, stuck: 0, dropout: 0 }
  const dropped = { readings: 0 }
  const schedule: Schedule = {
    sensors,
    readingsPerSecond,
    readingsPerMessage,
    maxReadings: options.maxReadings ?? Infinity,
    durationMs: options.durationMs ?? Infinity,
    publisher,
    anomalies,
    dropped,
  }
  const first = sensors[0] as SimulatedSensor
  const last = sensors[sensors.length - 1] as SimulatedSensor
  const kinds = SENSOR_KINDS.slice(0, Math.min(sensorCount, SENSOR_KINDS.length)).join(', ')
  const ids = sensorCount === 1 ? first.sensorId : `${first.sensorId}..${last.sensorId}`
  const batching = readingsPerMessage > 1 ? `, ${readingsPerMessage} readings per message` : ''
  return startRun({
    description:
      `simulating ${sensorCount} sensor${sensorCount === 1 ? '' : 's'} (${kinds}) as sensors/${ids}/<kind> ` +
      `at ${readingsPerSecond} reading${readingsPerSecond === 1 ? '' : 's'}/s each to ${transport.destination}, QoS ${qos}${batching}, seed ${seed}`,
    transport,
    ownsTransport: owned,
    publisher,
    drainTimeoutMs: options.drainTimeoutMs ?? PUBLISH_DEFAULTS.drainTimeoutMs,
    anomalyStats: () => ({ anomalies: { ...anomalies }, readingsDroppedByDropout: dropped.readings }),
    produce: (control) => produceOnSchedule(control, schedule),
  })
}

/**
 * Time is cut into slots of 1/readingsPerSecond; in each slot every sensor
 * reads once, stamped with the slot's time. When the broker holds us back the
 * loop falls behind and later catches up at full speed, each reading keeping
 * the time it was due, as a buffering sensor would. Nothing is queued while
 * behind: the backlog is a slot number, not memory.
 */
async function produceOnSchedule(control: RunControl, schedule: Schedule): Promise<FinishReason> {
  const { sensors, publisher } = schedule
  const startedAt = Date.now()
  const periodMs = 1000 / schedule.readingsPerSecond
  const endAt = startedAt + schedule.durationMs
  const batches = sensors.map((): TelemetryReading[] => [])
  let slot = 0
  let sensorIndex = 0
  let produced = 0
  let sinceYield = 0
  let reason: FinishReason
  for (;;) {
    if (control.stopped) {
      reason = 'stopped'
      break
    }
    if (produced >= schedule.maxReadings) {
      reason = 'count'
      break
    }
    const ts = Math.round(startedAt + slot * periodMs)
    const now = Date.now()
    if (ts >= endAt || now >= endAt) {
      reason = 'duration'
      break
    }
    if (ts > now) {
      await control.sleepUntil(Math.min(ts, endAt))
      continue
    }
    if (!publisher.hasRoom) {
      await control.waitForRoom()
      continue
    }
    const sensor = sensors[sensorIndex] as SimulatedSensor
    const reading = sensor.read(ts)
    if (reading.anomaly !== undefined) schedule.anomalies[reading.anomaly]++
    if (reading.value === undefined) {
      schedule.dropped.readings++
    } else {
      const batch = batches[sensorIndex] as TelemetryReading[]
      batch.push({ ts, value: reading.value })
      produced++
      if (batch.length >= schedule.readingsPerMessage) {
        publisher.publish(sensor, batch)
        batches[sensorIndex] = []
      }
    }
    if (++sensorIndex === sensors.length) {
      sensorIndex = 0
      slot++
    }
    if (++sinceYield >= READINGS_BETWEEN_YIELDS) {
      sinceYield = 0
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  // Partly filled batches are real readings: send them even past the in-flight bound (one per sensor at most).
  sensors.forEach((sensor, i) => {
    const batch = batches[i] as TelemetryReading[]
    if (batch.length > 0) publisher.publish(sensor, batch)
  })
  return reason
}
