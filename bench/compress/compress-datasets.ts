import { readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { SeriesColumn, TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { readReplayCsv } from '../../shared/simulator/replay-csv.js'
import { createSensorFleet } from '../../shared/simulator/sensor-fleet.js'

/**
 * Inputs of `cloudos bench compress`: NAB (or user) CSV files and simulator
 * output, as the columns the edge would hand to the codec, and the ways the
 * edge would cut them into batches.
 */

/** The readings of one device: batches never mix devices. */
export interface DeviceSeries {
  device: string
  series: SeriesColumn[]
}

export interface Dataset {
  name: string
  description: string
  devices: DeviceSeries[]
}

/** Every `*.csv` under `dir`, sorted, recursively. */
export async function csvFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.csv'))
    .map((e) => join(e.parentPath, e.name))
    .sort()
}

/** `timestamp,value` CSVs; each file is one sensor on its own device (NAB files are unrelated series). */
export async function csvDataset(name: string, description: string, files: string[]): Promise<Dataset> {
  const devices: DeviceSeries[] = []
  for (const file of files) {
    const readings = await readReplayCsv(file)
    const sensorId = basename(file, '.csv')
    devices.push({
      device: sensorId,
      series: [{ sensorId, metric: 'value', timestamps: Float64Array.from(readings, (r) => r.ts), values: Float64Array.from(readings, (r) => r.value) }],
    })
  }
  return { name, description, devices }
}

export interface SimulatorShape {
  sensors: number
  readingsPerSecond: number
  seconds: number
  seed: number
}

/**
 * The simulator's signal models (shared/simulator) sampled on a regular clock,
 * as `cloudos simulate` would publish them: one device with `sensors` sensors.
 */
export function simulatorDataset(shape: SimulatorShape, startTs = Date.UTC(2026, 0, 5, 6)): Dataset {
  const fleet = createSensorFleet({ sensorCount: shape.sensors, idPrefix: 'sim', seed: shape.seed, readingsPerSecond: shape.readingsPerSecond, anomalyChancePerSecond: 0.001 })
  const intervalMs = 1000 / shape.readingsPerSecond
  const ticks = Math.round(shape.seconds * shape.readingsPerSecond)
  const series = fleet.map((sensor) => {
    const timestamps: number[] = []
    const values: number[] = []
    for (let i = 0; i < ticks; i++) {
      const ts = Math.round(startTs + i * intervalMs)
      const { value } = sensor.read(ts)
      if (value === undefined) continue // a dropout publishes nothing
      timestamps.push(ts)
      values.push(value)
    }
    return { sensorId: sensor.sensorId, metric: sensor.metric, timestamps: Float64Array.from(timestamps), values: Float64Array.from(values) }
  })
  return {
    name: 'simulator',
    description: `${shape.sensors} simulated sensors x ${shape.readingsPerSecond}/s for ${shape.seconds} s (seed ${shape.seed}, shared/simulator signal models)`,
    devices: [{ device: 'sim', series }],
  }
}

export type BatchCut = 'per-source' | 'per-10k' | 'per-1k'

/**
 * How the edge cuts batches. `per-source`: one batch per device (a whole NAB
 * file, or the whole simulator run). `per-10k` and `per-1k`: consecutive
 * time windows of about 10,000 or 1,000 readings per device, all its sensors
 * together (an outbox that cuts small batches to send them sooner).
 */
export function cutBatches(dataset: Dataset, cut: BatchCut): TelemetryBatch[] {
  const batches: TelemetryBatch[] = []
  let seq = 0
  for (const device of dataset.devices) {
    if (cut === 'per-source') {
      batches.push({ seq: seq++, series: device.series })
      continue
    }
    for (const series of timeWindows(device.series, cut === 'per-10k' ? 10_000 : 1_000)) batches.push({ seq: seq++, series })
  }
  return batches
}

function timeWindows(series: SeriesColumn[], readingsPerWindow: number): SeriesColumn[][] {
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  let total = 0
  for (const s of series) {
    total += s.timestamps.length
    if (s.timestamps.length > 0) {
      first = Math.min(first, s.timestamps[0] as number)
      last = Math.max(last, s.timestamps[s.timestamps.length - 1] as number)
    }
  }
  if (total === 0) return []
  const windows = Math.max(1, Math.ceil(total / readingsPerWindow))
  const span = (last - first + 1) / windows
  const out: SeriesColumn[][] = []
  const cursor = series.map(() => 0)
  for (let w = 0; w < windows; w++) {
    const end = w === windows - 1 ? Number.POSITIVE_INFINITY : first + span * (w + 1)
    out.push(
      series.map((s, i) => {
        const from = cursor[i] as number
        let to = from
        while (to < s.timestamps.length && (s.timestamps[to] as number) < end) to++
        cursor[i] = to
        return { sensorId: s.sensorId, metric: s.metric, timestamps: s.timestamps.subarray(from, to), values: s.values.subarray(from, to) }
      }),
    )
  }
  return out
}

/** The JSON-lines form a user would otherwise store or send: one `{"sensor","ts","value"}` object per line. */
export function jsonLines(batch: TelemetryBatch): Buffer {
  const lines: string[] = []
  for (const s of batch.series) {
    const sensor = JSON.stringify(s.sensorId)
    for (let i = 0; i < s.timestamps.length; i++) lines.push(`{"sensor":${sensor},"ts":${JSON.stringify(s.timestamps[i])},"value":${JSON.stringify(s.values[i])}}\n`)
  }
  return Buffer.from(lines.join(''))
}
