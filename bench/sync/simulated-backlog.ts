import type { SeriesBatch } from '../../edge/ingest/ingest-pipeline.js'
import { createSensorFleet } from '../../shared/simulator/sensor-fleet.js'

export interface BacklogOptions {
  sensors: number
  readingsPerSecond: number
  /** First reading's timestamp (epoch ms). */
  start: number
  /** Length of the backlog in ms. */
  durationMs: number
  seed: number
  /** Readings are written in commits of this much simulated time (what the group commit would gather). */
  commitEveryMs: number
  /** The outbox seals closed windows every this much simulated time. */
  sealEveryMs: number
}

/** Where a backlog goes: the edge's commit path and its outbox sealer, on a simulated clock. */
export interface BacklogSink {
  commit(series: SeriesBatch[], readingCount: number): void
  seal(now: number): void
}

export interface BacklogResult {
  readings: number
  /** Readings per series key ("sensorId/metric"). */
  perSeries: Map<string, number>
  end: number
}

/**
 * Writes `durationMs` of simulated sensors (shared/simulator: daily cycles,
 * drift, noise, rounded to each kind's resolution, occasional anomalies and
 * dropouts) through the edge's commit path on an accelerated clock, sealing
 * as the runtime would. What an edge collects while offline, minus the MQTT
 * hop (measured on its own by `cloudos bench ingest`).
 */
export function writeSimulatedBacklog(sink: BacklogSink, options: BacklogOptions, onProgress?: (simulatedMs: number, readings: number) => void): BacklogResult {
  const fleet = createSensorFleet({ sensorCount: options.sensors, idPrefix: 'sim', seed: options.seed, readingsPerSecond: options.readingsPerSecond, anomalyChancePerSecond: 0.0005 })
  const periodMs = 1000 / options.readingsPerSecond
  const end = options.start + options.durationMs
  const perSeries = new Map<string, number>()
  let readings = 0
  let nextSeal = options.start + options.sealEveryMs
  let nextProgress = options.start + 3_600_000
  let slot = 0
  for (let commitStart = options.start; commitStart < end; commitStart += options.commitEveryMs) {
    const commitEnd = Math.min(end, commitStart + options.commitEveryMs)
    const series: SeriesBatch[] = fleet.map((sensor) => ({ key: { sensorId: sensor.sensorId, metric: sensor.metric }, timestamps: [], values: [] }))
    let count = 0
    const firstSlot = slot
    for (;;) {
      const ts = Math.round(options.start + slot * periodMs)
      if (ts >= commitEnd) break
      slot++
      for (let i = 0; i < fleet.length; i++) {
        const value = (fleet[i] as (typeof fleet)[number]).read(ts).value
        if (value === undefined) continue
        const s = series[i] as SeriesBatch
        s.timestamps.push(ts)
        s.values.push(value)
        count++
      }
    }
    if (slot === firstSlot) continue
    const written = series.filter((s) => s.timestamps.length > 0)
    sink.commit(written, count)
    for (const s of written) {
      const key = `${s.key.sensorId}/${s.key.metric}`
      perSeries.set(key, (perSeries.get(key) ?? 0) + s.timestamps.length)
    }
    readings += count
    if (commitEnd >= nextSeal) {
      sink.seal(commitEnd)
      nextSeal += options.sealEveryMs
    }
    if (commitEnd >= nextProgress) {
      onProgress?.(commitEnd - options.start, readings)
      nextProgress += 3_600_000
    }
  }
  return { readings, perSeries, end }
}
