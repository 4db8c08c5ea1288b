import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/processes.js'

// The built CLI as a user runs it (`npm test` builds dist/ first): a real hub
// process, load-generator processes and the plain baselines, with tiny counts.
describe('cloudos bench hub --quick --json', () => {
  it('runs the hub, the baselines and the fleet list end to end and reports every number', async () => {
    const result = await runCli(['bench', 'hub', '--quick', '--json'], { timeoutMs: 85_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as {
      settings: { quick: boolean; devices: number; heartbeatsPerRun: number }
      systems: Record<'hub' | 'hub-plain-http' | 'plain-full' | 'plain-normal', { runs: { ok: number; failed: number; heartbeatsPerSecond: number; p50Ms: number; p99Ms: number }[]; fleetListMedian: { p99Ms: number } }>
      verification: { asyncPerSecond: number; syncPerSecond: number; allValid: boolean }
      ratios: Record<string, number>
      pass: Record<string, boolean>
    }
    expect(report.settings.quick).toBe(true)
    for (const system of ['hub', 'hub-plain-http', 'plain-full', 'plain-normal'] as const) {
      const [run] = report.systems[system].runs
      expect(run, system).toMatchObject({ failed: 0 })
      expect(run?.ok, system).toBeGreaterThanOrEqual(report.settings.heartbeatsPerRun)
      expect(run?.heartbeatsPerSecond, system).toBeGreaterThan(0)
      expect(run?.p99Ms, system).toBeGreaterThanOrEqual(run?.p50Ms ?? 0)
      expect(report.systems[system].fleetListMedian.p99Ms, system).toBeGreaterThan(0)
    }
    expect(report.verification.allValid).toBe(true)
    expect(report.verification.asyncPerSecond).toBeGreaterThan(0)
    expect(report.ratios.heartbeatsVsPlainFull).toBeGreaterThan(0)
    // The TLS cost, measured in the same run: the HTTPS hub against the same hub on plain HTTP.
    expect(report.ratios.tlsHeartbeatsVsPlainHttp).toBeGreaterThan(0)
    expect(report.ratios.tlsP99VsPlainHttp).toBeGreaterThan(0)
    expect(Object.keys(report.pass).sort()).toEqual(['fleetListP99Ms', 'heartbeatP99Ms', 'heartbeatsPerSecond'])
    expect(result.stderr).toContain('devices enrolled over HTTPS')
    expect(result.stderr).toContain('plain-HTTP hub (same data, --insecure-http)')
  }, 90_000)
})
