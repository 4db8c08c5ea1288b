import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/processes.js'

// The built CLI as a user runs it: a real hub process, simulated edges in
// load-generator processes, the naive plain server, with tiny counts.
describe('cloudos bench ota --quick --json', () => {
  it('rolls out to every simulated edge on the hub and downloads from the baseline, reporting time, bytes and memory', async () => {
    const result = await runCli(['bench', 'ota', '--quick', '--json'], { timeoutMs: 110_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as {
      settings: { quick: boolean; edges: number; bundleSizesMiB: number[] }
      upload: { bundleBytes: number; hubRssPeakMiB: number | null }[]
      sizes: { bundleBytes: number; rssPeakRatio: number | null; systems: Record<'hub' | 'plain', { runs: { seconds: number; hubSeconds: number | null; bytes: number; failed: number; rssPeakBytes: number | null }[] }> }[]
      rssGrowthAcrossSizesMiB: Record<'hub' | 'plain', number | null>
    }
    expect(report.settings.quick).toBe(true)
    expect(report.sizes).toHaveLength(report.settings.bundleSizesMiB.length)
    expect(report.upload).toHaveLength(report.settings.bundleSizesMiB.length)
    for (const size of report.sizes) {
      for (const system of ['hub', 'plain'] as const) {
        const [run] = size.systems[system].runs
        expect(run, system).toMatchObject({ failed: 0 })
        // Every edge received the whole bundle (at least once: Range requests do not repeat bytes).
        expect(run?.bytes, system).toBe(size.bundleBytes * report.settings.edges)
        expect(run?.seconds, system).toBeGreaterThan(0)
        expect(run?.rssPeakBytes, system).toBeGreaterThan(0)
      }
      expect(size.systems.hub.runs[0]?.hubSeconds).toBeGreaterThan(0)
      expect(size.rssPeakRatio).toBeGreaterThan(0)
    }
    expect(typeof report.rssGrowthAcrossSizesMiB.hub).toBe('number')
    expect(result.stderr).toContain('devices enrolled over HTTP')
  }, 120_000)
})
