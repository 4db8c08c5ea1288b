import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/processes.js'

describe('cloudos bench config --quick', () => {
  it('runs the partition scenario, the last-writer-wins baseline and the latency measurement, and reports ratios', async () => {
    const result = await runCli(['bench', 'config', '--quick', '--json'], { timeoutMs: 240_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as Record<string, any>
    expect(report.partition.allConverged).toBe(true)
    expect(report.partition.editsLost).toBe(0)
    expect(report.partition.bytesPerEdit).toBeGreaterThan(0)
    expect(report.lastWriterWins.editsLost).toBeGreaterThan(0)
    expect(report.latency.crdt.samples).toBe(5)
    expect(report.latency.crdt.p99Ms).toBeGreaterThan(0)
    expect(report.ratios.editsLostLww).toBe(report.lastWriterWins.editsLost)
  }, 250_000)
})
