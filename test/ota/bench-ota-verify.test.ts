import { describe, expect, it } from 'vitest'
import type { OtaVerifyBenchReport } from '../../bench/ota-verify/ota-verify-bench.js'
import { runCli } from '../helpers/processes.js'

describe('cloudos bench ota-verify --quick', () => {
  it('measures the three systems at two sizes and reports medians, memory and ratios', async () => {
    const result = await runCli(['bench', 'ota-verify', '--quick', '--json'], { timeoutMs: 240_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as OtaVerifyBenchReport
    expect(report.benchmark).toBe('ota-verify')
    expect(report.results).toHaveLength(6)
    for (const r of report.results) {
      expect(r.medianMs).toBeGreaterThanOrEqual(0)
      expect(r.bundleBytes).toBeGreaterThan(r.payloadBytes * 0.9)
      if (r.system === 'zstd-tar-sha256sum') expect(r.peakRssBytes).toBeNull()
      else expect(r.peakRssBytes).toBeGreaterThan(1024 * 1024)
    }
    expect(report.ratios.memoryInMemoryOverStream).toBeGreaterThan(0)
    expect(report.machine.loadAverage).toHaveLength(3)
  }, 300_000)
})
