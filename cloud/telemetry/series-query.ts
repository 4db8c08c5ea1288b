import type { TelemetryBatch } from '../../shared/telemetry-batch/index.js'

export interface RawPoint {
  ts: number
  value: number
}

export interface Bucket {
  /** Start of the bucket (epoch ms): from + k * step. */
  ts: number
  count: number
  min: number
  max: number
  avg: number
}

/** One series' readings from decoded batches, within [from, to], sorted by time (stable). */
export function seriesPoints(batches: readonly TelemetryBatch[], sensorId: string, metric: string, from: number, to: number): RawPoint[] {
  const points: RawPoint[] = []
  for (const batch of batches) {
    for (const s of batch.series) {
      if (s.sensorId !== sensorId || s.metric !== metric) continue
      for (let i = 0; i < s.timestamps.length; i++) {
        const ts = s.timestamps[i] as number
        if (ts >= from && ts <= to) points.push({ ts, value: s.values[i] as number })
      }
    }
  }
  // Batches arrive in seq order; a late batch can hold earlier readings.
  points.sort((a, b) => a.ts - b.ts)
  return points
}

/** min/max/avg per `step` ms from `from`; empty buckets are left out. */
export function downsample(points: readonly RawPoint[], from: number, step: number): Bucket[] {
  const buckets: Bucket[] = []
  let current: (Bucket & { sum: number }) | undefined
  for (const p of points) {
    const start = from + Math.floor((p.ts - from) / step) * step
    if (current === undefined || current.ts !== start) {
      if (current !== undefined) buckets.push(finish(current))
      current = { ts: start, count: 0, min: Infinity, max: -Infinity, avg: 0, sum: 0 }
    }
    current.count++
    current.sum += p.value
    if (p.value < current.min) current.min = p.value
    if (p.value > current.max) current.max = p.value
  }
  if (current !== undefined) buckets.push(finish(current))
  return buckets
}

const finish = (b: Bucket & { sum: number }): Bucket => ({ ts: b.ts, count: b.count, min: b.min, max: b.max, avg: b.sum / b.count })
