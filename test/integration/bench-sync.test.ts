import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/processes.js'

// Checks the machinery of `cloudos bench sync --quick`, not its speed: the
// numbers on this shared machine are noise (docs/benchmarks.md has a full run).
describe('cloudos bench sync --quick', () => {
  it('drains a backlog to a real hub, runs the JSON-lines baseline, and reports both with ratios', async () => {
    const result = await runCli(['bench', 'sync', '--quick', '--json'], { timeoutMs: 600_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.settings).toMatchObject({ quick: true, hours: 0.5, sensors: 20, runs: 2 })
    // 30 minutes of 20 sensors at 10/s, less simulated dropouts.
    expect(report.backlog.readings).toBeGreaterThan(0.95 * 360_000)
    expect(report.backlog.readings).toBeLessThanOrEqual(360_000)
    expect(report.backlog.dropped).toBe(0)
    expect(report.cloudos.runs).toHaveLength(2)
    for (const run of report.cloudos.runs) expect(run.readings).toBe(report.backlog.readings)
    expect(report.cloudos.medianReadingsPerSecond).toBeGreaterThan(0)
    expect(report.baseline.runs).toHaveLength(2)
    expect(report.baseline.medianReadingsPerSecond).toBeGreaterThan(0)
    // The codec batches are smaller on the wire than gzip'ed JSON lines of the same data.
    expect(report.cloudos.bodyBytesPerReading).toBeLessThan(report.baseline.gzipBytesPerReading)
    expect(report.bytesRatio).toBeCloseTo(report.baseline.gzipBytesPerReading / report.cloudos.bodyBytesPerReading, 6)
    expect(report.throughputRatio).toBeCloseTo(report.cloudos.medianReadingsPerSecond / report.baseline.medianReadingsPerSecond, 6)
    expect(result.stderr).toMatch(/cloudos run 2\/2/)
  }, 600_000)
})
