import type { CompressBenchReport, CutReport } from './compress-bench.js'

/** The human-readable form of a `cloudos bench compress` report. */
export function formatCompressReport(report: CompressBenchReport): string {
  const { machine, settings, targets } = report
  const lines: string[] = []
  lines.push(`cloudos bench compress: telemetry batch codec vs gzip -9 / zstd -19 of JSON lines, codec speeds are medians of ${settings.runs} run(s), gzip/zstd speeds of ${settings.baselineRuns}`)
  lines.push(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.os}, node ${machine.node}, ${machine.date}, load average at start ${machine.loadAverage.join(' ')}`)
  lines.push(`codec:   zstd level ${settings.level}`)
  for (const d of report.datasets) lines.push(`data:    ${d.name}: ${d.description}, ${int(d.readings)} readings`)
  lines.push('cuts:    per-source = one batch per NAB file / the whole simulator run; per-10k / per-1k = time windows of ~10,000 / ~1,000 readings per device (every NAB file has < 10,000, so per-10k = per-source there)')
  lines.push('speeds:  MB of JSON-lines input per second (encode: columns -> batch bytes; decode: bytes -> columns); "cpu" = per CPU second of this process, "wall" = per elapsed second')
  if (settings.quick) lines.push('note:    --quick: a small subset, for checking the machinery; the numbers mean little')
  lines.push('')
  const header = ['dataset', 'cut', 'readings', 'JSON B/rdg', 'codec B/rdg', 'reduction', 'zstd-19 B/rdg', 'gzip-9 B/rdg', 'vs zstd-19', 'vs gzip-9', 'encode cpu', 'encode wall', 'decode cpu', 'decode wall', 'zstd-19 wall', 'gzip-9 wall']
  const rows = report.results.map((r: CutReport) => [
    r.dataset,
    r.cut,
    int(r.readings),
    r.jsonLines.bytesPerReading.toFixed(1),
    r.codec.bytesPerReading.toFixed(2),
    pct(r.codec.reductionVsJson),
    r.zstd19.bytesPerReading.toFixed(2),
    r.gzip9.bytesPerReading.toFixed(2),
    `${r.ratioVsZstd19.toFixed(2)}x`,
    `${r.ratioVsGzip9.toFixed(2)}x`,
    r.codec.encodeCpuMBps.toFixed(0),
    r.codec.encodeMBps.toFixed(0),
    r.codec.decodeCpuMBps.toFixed(0),
    r.codec.decodeMBps.toFixed(0),
    r.zstd19.encodeMBps.toFixed(1),
    r.gzip9.encodeMBps.toFixed(1),
  ])
  lines.push(...table([header, ...rows]))
  lines.push('')
  lines.push(`target: reduction vs JSON lines >= ${pct(targets.reductionVsJson.target)} (CSV set, per-10k): ${pct(targets.reductionVsJson.actual)} ${passMiss(targets.reductionVsJson.pass)}`)
  lines.push(`target: smaller than zstd -19 of JSON lines >= ${targets.ratioVsZstd19.target}x (CSV set, per-10k): ${targets.ratioVsZstd19.actual.toFixed(2)}x ${passMiss(targets.ratioVsZstd19.pass)}`)
  lines.push(`target: encode >= ${targets.encodeMBps.target} MB/s of JSON-equivalent input per CPU second (slowest row): ${targets.encodeMBps.actual.toFixed(0)} MB/s ${passMiss(targets.encodeMBps.pass)}`)
  lines.push(`overall: ${passMiss(report.pass)}`)
  return `${lines.join('\n')}\n`
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  '))
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const pct = (f: number) => `${(f * 100).toFixed(1)}%`
const passMiss = (pass: boolean) => (pass ? 'PASS' : 'MISS')
