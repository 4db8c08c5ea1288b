import { otaSystemNames, type OtaBenchReport, type OtaSystemId } from './ota-bench.js'

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
const val = (v: number | null, unit = '') => (v === null ? 'n/a' : `${v}${unit}`)

/** The human-readable report of `cloudos bench ota`. */
export function formatOtaBenchReport(report: OtaBenchReport): string {
  const { settings, machine } = report
  const lines: string[] = []
  lines.push(
    `cloudos bench ota: ${settings.edges} simulated edges in ${settings.loadGenerators} load-generator processes (${settings.downloadConcurrency} downloads in flight each, polls every ${settings.pollMs} ms, Range chunks of ${mib(settings.rangeBytes)}), ${settings.runs} run(s) per system per bundle size${settings.quick ? ' (quick: proves the machinery, not the speed)' : ''}`,
  )
  lines.push(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.os}, node ${machine.node}, load average at start ${machine.loadAverage.join(' / ')}`)
  lines.push('')
  lines.push(`uploads (streamed to disk, verified): ${report.upload.map((u) => `${mib(u.bundleBytes)} in ${u.seconds} s, hub RSS ${val(u.hubRssBeforeMiB, ' MiB')} -> peak ${val(u.hubRssPeakMiB, ' MiB')}`).join('; ')}`)
  lines.push('')
  for (const size of report.sizes) {
    lines.push(`bundle ${mib(size.bundleBytes)} (median of runs)                                  to all done   transferred      MB/s   server peak RSS   RSS growth`)
    for (const system of Object.keys(size.systems) as OtaSystemId[]) {
      const s = size.systems[system]
      const bytes = s.runs[0]?.bytes ?? 0
      const hub = system === 'hub' && s.runs[0]?.hubSeconds !== null ? ` (hub clock ${s.runs.map((r) => r.hubSeconds).join(' / ')} s)` : ''
      lines.push(
        `  ${otaSystemNames[system].padEnd(64)} ${`${s.median.seconds.toFixed(2)} s`.padStart(10)} ${mib(bytes).padStart(13)} ${String(s.median.megabytesPerSecond).padStart(9)} ${val(s.median.rssPeakMiB, ' MiB').padStart(17)} ${val(s.median.rssGrowthMiB, ' MiB').padStart(12)}${hub}`,
      )
      const failed = s.runs.filter((r) => r.failed > 0)
      if (failed.length > 0) lines.push(`    failures: ${failed.map((r) => `${r.failed} (${r.firstError ?? ''})`).join('; ')}`)
    }
    lines.push(`  peak RSS plain / hub: ${val(size.rssPeakRatio, 'x')}`)
    lines.push('')
  }
  lines.push(
    `peak RSS growth from the smallest to the largest bundle: hub ${val(report.rssGrowthAcrossSizesMiB.hub, ' MiB')}, plain ${val(report.rssGrowthAcrossSizesMiB.plain, ' MiB')} (target: hub flat, bundle streamed)`,
  )
  return `${lines.join('\n')}\n`
}
