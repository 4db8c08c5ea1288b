import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CompressBenchReport } from '../../bench/compress/compress-bench.js'
import { runCli } from '../helpers/processes.js'
import { useTempDir } from '../helpers/temp-dir.js'

describe('cloudos bench compress', () => {
  it('--quick --json measures the codec, gzip -9 and zstd -19 on NAB and simulator data', async () => {
    const result = await runCli(['bench', 'compress', '--quick', '--json'], { timeoutMs: 300_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as CompressBenchReport
    expect(report.benchmark).toBe('compress')
    expect(report.machine.loadAverage).toHaveLength(3)
    expect(report.settings.quick).toBe(true)
    expect(report.datasets.map((d) => d.name)).toEqual(['nab', 'simulator'])
    expect(report.results.map((r) => `${r.dataset}/${r.cut}`)).toEqual([
      'nab/per-source',
      'nab/per-10k',
      'nab/per-1k',
      'simulator/per-source',
      'simulator/per-10k',
      'simulator/per-1k',
    ])
    for (const r of report.results) {
      const dataset = report.datasets.find((d) => d.name === r.dataset)
      expect(r.readings).toBe(dataset?.readings)
      expect(r.codec.bytes).toBeGreaterThan(0)
      expect(r.codec.bytesPerReading).toBeCloseTo(r.codec.bytes / r.readings, 2)
      expect(r.codec.reductionVsJson).toBeCloseTo(1 - r.codec.bytes / r.jsonLines.bytes, 3)
      expect(r.ratioVsZstd19).toBeCloseTo(r.zstd19.bytes / r.codec.bytes, 1)
      expect(r.ratioVsGzip9).toBeCloseTo(r.gzip9.bytes / r.codec.bytes, 1)
      // Even on tiny data the columnar codec beats generic compression of JSON lines.
      expect(r.codec.bytes).toBeLessThan(r.zstd19.bytes)
      for (const speed of [r.codec.encodeMBps, r.codec.decodeMBps, r.codec.encodeCpuMBps, r.codec.decodeCpuMBps, r.zstd19.encodeMBps, r.gzip9.encodeMBps]) {
        expect(speed).toBeGreaterThan(0)
      }
      expect(r.runs.encodeMBps).toHaveLength(2)
      expect(r.runs.zstd19MBps).toHaveLength(1)
    }
    expect(report.targets.ratioVsZstd19.actual).toBe(report.results[1]?.ratioVsZstd19)
    expect(typeof report.pass).toBe('boolean')
  })

  it('--input takes timestamp,value CSVs instead of NAB, and refuses a malformed one with a coded error', async () => {
    const dir = useTempDir()
    const csv = join(dir, 'boiler.csv')
    const rows = Array.from({ length: 500 }, (_, i) => `2024-01-01 00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')},${(60 + Math.sin(i / 20)).toFixed(2)}`)
    writeFileSync(csv, `timestamp,value\n${rows.join('\n')}\n`)
    const result = await runCli(['bench', 'compress', '--quick', '--json', '--runs', '1', '--input', csv], { timeoutMs: 300_000 })
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as CompressBenchReport
    expect(report.datasets[0]).toMatchObject({ name: 'input', readings: 500 })
    expect(report.results[0]?.readings).toBe(500)

    const bad = join(dir, 'bad.csv')
    writeFileSync(bad, 'when,what\nyesterday,hot\n')
    const refused = await runCli(['bench', 'compress', '--quick', '--input', bad], { timeoutMs: 120_000 })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('SIM_ERR_CSV_FORMAT')
  })
})
