import { systemNames, type HubBenchReport, type SystemId } from './hub-bench.js'

const n = (value: number) => Math.round(value).toLocaleString('en-US')
const ms = (value: number) => value.toFixed(2)
const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS')

/** The human-readable report of `cloudos bench hub`. */
export function formatHubBenchReport(report: HubBenchReport): string {
  const { systems, settings, machine } = report
  const lines: string[] = []
  lines.push(
    `cloudos bench hub: ${settings.devices} devices x ${n(settings.heartbeatsPerRun)} heartbeats per run, ${settings.loadGenerators} load generators x ${settings.concurrency} in flight, ${settings.runs} run(s) per system${settings.quick ? ' (quick: proves the machinery, not the speed)' : ''}`,
  )
  lines.push(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.os}, node ${machine.node}, load average at start ${machine.loadAverage.join(' / ')}`)
  lines.push('')
  lines.push('heartbeats (median of runs)                                   per second     p50 ms   p99 ms   fleet list p50/p99 ms')
  for (const system of Object.keys(systems) as SystemId[]) {
    const s = systems[system]
    lines.push(
      `  ${systemNames[system].padEnd(60)} ${n(s.median.heartbeatsPerSecond).padStart(10)} ${ms(s.median.p50Ms).padStart(10)} ${ms(s.median.p99Ms).padStart(8)}   ${ms(s.fleetListMedian.p50Ms)} / ${ms(s.fleetListMedian.p99Ms)}`,
    )
  }
  lines.push('')
  lines.push(
    `TLS: HTTPS hub / plain-HTTP hub ${report.ratios.tlsHeartbeatsVsPlainHttp}x heartbeats/s, ${report.ratios.tlsP99VsPlainHttp}x p99 (${n(systems.hub.median.heartbeatsPerSecond)} vs ${n(systems['hub-plain-http'].median.heartbeatsPerSecond)} /s; ${ms(systems.hub.median.p99Ms)} vs ${ms(systems['hub-plain-http'].median.p99Ms)} ms)`,
  )
  lines.push(`ratios: hub / plain FULL ${report.ratios.heartbeatsVsPlainFull}x, hub / plain NORMAL ${report.ratios.heartbeatsVsPlainNormal}x (heartbeats/s); fleet list p99 hub / plain ${report.ratios.fleetListP99VsPlain}x`)
  lines.push(
    `signed-request verifications/s (one process): ${n(report.verification.asyncPerSecond)} on the thread pool (the hub's path), ${n(report.verification.syncPerSecond)} on the main thread`,
  )
  lines.push('')
  lines.push(`targets: heartbeats/s >= ${n(report.targets.heartbeatsPerSecond)}: ${mark(report.pass.heartbeatsPerSecond)}; heartbeat p99 < ${report.targets.heartbeatP99Ms} ms: ${mark(report.pass.heartbeatP99Ms)}; fleet list p99 < ${report.targets.fleetListP99Ms} ms with ${n(settings.fleetDevices)} devices: ${mark(report.pass.fleetListP99Ms)}`)
  const failures = systems.hub.runs.filter((r) => r.failed > 0)
  if (failures.length > 0) lines.push(`hub runs with failed requests: ${failures.map((r) => `${r.failed} (${r.firstError ?? ''})`).join('; ')}`)
  return `${lines.join('\n')}\n`
}
