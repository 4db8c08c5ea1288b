import type { IngestRunResult } from './ingest-run.js'
import type { IngestBenchReport, ScenarioReport } from './ingest-report.js'
import { TARGET_RATIO_VS_BASELINE } from './ingest-scenarios.js'

/** The human-readable form of an ingest benchmark report. */
export function formatIngestReport(report: IngestBenchReport): string {
  const { machine, settings, baseline } = report
  const lines: string[] = []
  lines.push(`cloudos bench ingest: readings/s committed to SQLite, median of ${settings.runs} run(s)`)
  lines.push(
    `machine:  ${machine.cpus} x ${machine.cpuModel}, ${gib(machine.memoryBytes)} RAM, ${machine.os}, node ${machine.node}, ` +
      `${machine.date}, load average at start ${machine.loadAverage.join(' ')}`,
  )
  lines.push(
    `load:     ${settings.publishers} publisher process(es) x 1 MQTT connection over loopback; ` +
      `${int(settings.singleReadings)} readings/run single, ${int(settings.batchedReadings)} batched; QoS 1 window ${int(settings.inflightWindow)} msgs`,
  )
  lines.push(
    baseline.measured
      ? `baseline: ${baseline.description}`
      : `baseline: skipped (${baseline.skippedReason ?? 'not requested'})`,
  )
  if (settings.edgeNodeArgs.length > 0 || settings.edgeConfig !== undefined) {
    lines.push(`edge:     node ${settings.edgeNodeArgs.join(' ')}${settings.edgeConfig === undefined ? '' : ` --config ${settings.edgeConfig}`}`)
  }
  if (settings.quick) lines.push('note:     --quick: tiny counts, for checking the machinery; the rates mean little')
  lines.push('')

  const header = ['scenario', 'ours', 'baseline', 'ours/baseline', 'target', 'rate', `ratio >= ${TARGET_RATIO_VS_BASELINE}x`]
  const rows = report.scenarios.map((s) => [
    s.label,
    `${int(s.ours.medianReadingsPerSecond)}/s${s.ours.allComplete ? '' : '*'}`,
    s.baseline === null ? '-' : `${int(s.baseline.medianReadingsPerSecond)}/s${s.baseline.allComplete ? '' : '*'}`,
    s.ratio === null ? '-' : `${s.ratio.toFixed(2)}x`,
    `>= ${int(s.target.readingsPerSecond)}/s`,
    s.pass.readingsPerSecond ? 'PASS' : 'MISS',
    s.pass.ratio === null ? '-' : s.pass.ratio ? 'PASS' : 'MISS',
  ])
  lines.push(...table([header, ...rows]))
  lines.push('')
  for (const s of report.scenarios) {
    if (s.secure === null || s.secureRatio === null) continue
    lines.push(
      `secure:   ${s.label} on the secure listener (${report.secureListener ?? 'TLS'}): ${int(s.secure.medianReadingsPerSecond)}/s${s.secure.allComplete ? '' : '*'} = ` +
        `${s.secureRatio.toFixed(2)}x the plain listener's ${int(s.ours.medianReadingsPerSecond)}/s in the same runs ` +
        `(target >= ${s.target.secureRatio.toFixed(2)}x) ${s.pass.secureRatio === true ? 'PASS' : 'MISS'}`,
    )
    lines.push('')
  }

  const rss = report.peakRss
  lines.push(
    `peak RSS: edge ${rss.edgeBytes === null ? 'unknown' : mib(rss.edgeBytes)} (max over runs; target <= ${mib(rss.targetBytes)}) ${rss.pass ? 'PASS' : 'MISS'}` +
      (rss.mosquittoBytes === null ? '' : `; mosquitto ${mib(rss.mosquittoBytes)}`) +
      (rss.baselineSubscriberBytes === null ? '' : `; baseline subscriber ${mib(rss.baselineSubscriberBytes)}`),
  )
  lines.push('')
  lines.push('all runs (readings/s; publish = first publish to last write (QoS 0) or last PUBACK (QoS 1)):')
  for (const s of report.scenarios) lines.push(...runLines(s))
  const partial = report.scenarios.some((s) => !s.ours.allComplete || (s.baseline !== null && !s.baseline.allComplete))
  if (partial) lines.push('', '* at least one run ended before every reading was committed (see the notes above); the rate counts committed readings only')
  lines.push('', `overall: ${report.pass ? 'PASS' : 'MISS'}`)
  return `${lines.join('\n')}\n`
}

function runLines(s: ScenarioReport): string[] {
  const lines = [`  ${s.label} (${int(s.readingsPerRun)} readings/run${s.qos === 1 && s.readingsPerMessage > 1 ? ', published at QoS 1' : ''}):`]
  const describe = (system: string, runs: IngestRunResult[]) =>
    runs.forEach((r, i) => {
      const publish = r.publishSeconds === undefined ? '' : `, publish ${r.publishSeconds.toFixed(2)} s`
      const rss = [
        r.peakRssBytes.edge === undefined ? undefined : `edge ${mib(r.peakRssBytes.edge)}`,
        r.peakRssBytes.mosquitto === undefined ? undefined : `mosquitto ${mib(r.peakRssBytes.mosquitto)}`,
        r.peakRssBytes.subscriber === undefined ? undefined : `subscriber ${mib(r.peakRssBytes.subscriber)}`,
      ].filter((x) => x !== undefined)
      lines.push(
        `    ${system.padEnd(8)} run ${i + 1}: ${int(r.readingsPerSecond).padStart(10)}/s  ` +
          `${int(r.committedReadings)}/${int(r.expectedReadings)} in ${r.seconds.toFixed(2)} s${publish}; peak RSS ${rss.join(', ')}` +
          (r.end === 'complete' ? '' : `  [${r.end}${r.error === undefined ? '' : `: ${r.error}`}]`),
      )
      for (const note of r.notes) lines.push(`      note: ${note}`)
    })
  describe('ours', s.ours.runs)
  if (s.secure !== null) describe('secure', s.secure.runs)
  if (s.baseline !== null) describe('baseline', s.baseline.runs)
  return lines
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ').trimEnd())
}

function int(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`
}
