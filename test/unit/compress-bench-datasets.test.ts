import { describe, expect, it } from 'vitest'
import { cutBatches, jsonLines, simulatorDataset } from '../../bench/compress/compress-datasets.js'
import { batchReadingCount } from '../../shared/telemetry-batch/index.js'

describe('bench compress datasets', () => {
  const dataset = simulatorDataset({ sensors: 4, readingsPerSecond: 10, seconds: 60, seed: 3 })
  const total = batchReadingCount({ seq: 0, series: dataset.devices[0]!.series })

  it('cuts time windows of about the asked size without losing or repeating a reading', () => {
    for (const [cut, size] of [['per-1k', 1000], ['per-10k', 10_000]] as const) {
      const batches = cutBatches(dataset, cut)
      expect(batches.reduce((n, b) => n + batchReadingCount(b), 0)).toBe(total)
      expect(batches.length).toBe(Math.ceil(total / size))
      batches.forEach((b, i) => expect(b.seq).toBe(i))
      const first = batches[0]!.series[0]!
      const second = batches[1]?.series[0]
      if (second !== undefined) expect(second.timestamps[0]).toBeGreaterThan(first.timestamps[first.timestamps.length - 1]!)
    }
    expect(cutBatches(dataset, 'per-source')).toHaveLength(1)
  })

  it('writes one {"sensor","ts","value"} JSON object per reading', () => {
    const batch = { seq: 0, series: [{ sensorId: 'a', metric: 'm', timestamps: Float64Array.of(1, 2), values: Float64Array.of(0.5, -3) }] }
    expect(jsonLines(batch).toString()).toBe('{"sensor":"a","ts":1,"value":0.5}\n{"sensor":"a","ts":2,"value":-3}\n')
  })
})
