import type { AnomalyDetector, DetectorInput } from '../../shared/anomaly/detector.js'
import { median } from '../measure/statistics.js'

export interface ModelLatencyResult {
  /** Readings (windows) per scoreBatch call, one per series. */
  batch: number
  /** Median over runs of the mean time per window, microseconds. */
  microsecondsPerWindow: number
  /** Median over runs of the time of one scoreBatch call, microseconds. */
  microsecondsPerCall: number
  windowsPerSecond: number
  runs: number[]
}

/**
 * Model latency per window with the real model on onnxruntime-node: for each
 * batch size, `batch` series whose windows are already full are scored
 * together (one scoreBatch, one session.run) `callsPerRun` times; the time per
 * window is the run's time divided by the windows scored. Batch 1 is what a
 * loop calling the model once per reading would pay.
 */
export async function measureModelLatency(
  open: () => Promise<AnomalyDetector>,
  options: { batches: readonly number[]; windowsPerRun: number; runs: number },
): Promise<ModelLatencyResult[]> {
  const results: ModelLatencyResult[] = []
  for (const batch of options.batches) {
    const detector = await open()
    try {
      const window = detector.model.window
      let step = 0
      const inputs = (): DetectorInput[] => {
        step++
        return Array.from({ length: batch }, (_, s) => ({
          seriesKey: `bench-${s}`,
          ts: step * 1000,
          value: 20 + 5 * Math.sin(step / 17 + s) + ((step * 7919 + s * 104_729) % 97) / 97,
        }))
      }
      // Fill every series' window (and a bit more, so every call runs the network).
      for (let i = 0; i < window + 8; i++) await detector.scoreBatch(inputs())
      const calls = Math.max(3, Math.ceil(options.windowsPerRun / batch))
      const perWindow: number[] = []
      const perCall: number[] = []
      for (let run = 0; run < options.runs; run++) {
        const prepared = Array.from({ length: calls }, inputs)
        const started = performance.now()
        for (const call of prepared) await detector.scoreBatch(call)
        const elapsedUs = (performance.now() - started) * 1000
        perWindow.push(elapsedUs / (calls * batch))
        perCall.push(elapsedUs / calls)
      }
      const us = median(perWindow)
      results.push({
        batch,
        microsecondsPerWindow: round(us),
        microsecondsPerCall: round(median(perCall)),
        windowsPerSecond: Math.round(1e6 / us),
        runs: perWindow.map(round),
      })
    } finally {
      await detector.close()
    }
  }
  return results
}

const round = (n: number): number => Math.round(n * 100) / 100
