import { describe, expect, it } from 'vitest'
import type { InferenceBenchReport } from '../../bench/inference/inference-bench.js'
import { runCli } from '../helpers/processes.js'

// The built CLI as a user runs it (`npm test` builds dist/ first): the real
// model, a real edge process per mode, a background-load process, tiny counts.
describe('cloudos bench inference --quick --json', () => {
  it('measures the model per window and the publish-to-alert latency with inference on and off', async () => {
    const result = await runCli(['bench', 'inference', '--quick', '--json'], { timeoutMs: 170_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as InferenceBenchReport
    expect(report.settings.quick).toBe(true)
    expect(report.model.name).toBe('cloudos-forecaster')
    expect(report.model.latency.map((l) => l.batch)).toEqual(report.settings.batches)
    for (const l of report.model.latency) {
      expect(l.microsecondsPerWindow).toBeGreaterThan(0)
      expect(l.microsecondsPerCall).toBeGreaterThanOrEqual(l.microsecondsPerWindow)
    }
    expect(report.model.batchedSpeedup).toBeGreaterThan(0)
    for (const summary of [report.decision.inferenceOn, report.decision.inferenceOff]) {
      expect(summary.runs).toHaveLength(report.settings.decisionRuns)
      const [run] = summary.runs
      expect(run!.samples + run!.lost).toBe(report.settings.decision.probes)
      expect(run!.samples).toBeGreaterThan(0)
      expect(run!.p99Ms).toBeGreaterThanOrEqual(run!.p50Ms)
      expect(run!.p50Ms).toBeGreaterThan(0)
      expect(run!.backgroundReadingsPerSecond).toBeGreaterThan(0)
    }
    // Inference on: the edge's model scored the background load; off: it did not run.
    expect(report.decision.inferenceOn.runs[0]!.inference!.readingsScored).toBeGreaterThan(0)
    expect(report.decision.inferenceOff.runs[0]!.inference).toBeNull()
    expect(report.decision.ratioP50).toBeGreaterThan(0)
    expect(result.stderr).toContain('inference-off run 1/1')
  }, 180_000)
})
