import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'
import { measureApplyLatency, type ApplyLatencyResult } from './apply-latency.js'
import { runLastWriterWins, runPartitionScenario, type LwwResult, type PartitionResult, type PartitionSettings } from './partition-scenario.js'

export interface ConfigBenchSettings extends PartitionSettings {
  runs: number
  latencySamples: number
  pollIntervalMs: number
}

export const defaultConfigBenchSettings: ConfigBenchSettings = { devices: 1000, editsPerDevice: 100, groupEdits: 20, runs: 3, latencySamples: 100, pollIntervalMs: 1000 }
export const quickConfigBenchSettings: Partial<ConfigBenchSettings> = { devices: 20, editsPerDevice: 10, groupEdits: 3, runs: 1, latencySamples: 5, pollIntervalMs: 100 }

export interface ConfigBenchReport {
  machine: MachineFacts
  settings: ConfigBenchSettings
  runs: PartitionResult[]
  /** Medians over the runs. */
  partition: { convergeSeconds: number; bytesPerEdit: number; editsLost: number; allConverged: boolean; hubHeapMiB: number; exchanges: number }
  lastWriterWins: LwwResult
  latency: ApplyLatencyResult
  ratios: { bytesPerEditCrdtOverLww: number; editsLostLww: number; editsLostCrdt: number; p99PollingOverCrdt: number }
}

export async function runConfigBench(settings: ConfigBenchSettings, onNotice: (message: string) => void = () => undefined): Promise<ConfigBenchReport> {
  const machine = machineFacts()
  const runs: PartitionResult[] = []
  for (let run = 0; run < settings.runs; run++) {
    const result = await runPartitionScenario(settings)
    onNotice(`partition run ${run + 1}/${settings.runs}: ${settings.devices} devices x ${settings.editsPerDevice} edits converged in ${result.convergeSeconds.toFixed(2)} s, ${Math.round(result.bytesPerEdit)} B/edit, ${result.editsLost} edits lost`)
    runs.push(result)
  }
  const lww = runLastWriterWins(settings)
  onNotice(`last-writer-wins: ${Math.round(lww.bytesPerEdit)} B/edit, ${lww.editsLost} edits lost`)
  const latency = await measureApplyLatency(settings.latencySamples, settings.pollIntervalMs)
  onNotice(`operator edit -> applied: p50 ${latency.crdt.p50Ms} ms, p99 ${latency.crdt.p99Ms} ms (polling every ${settings.pollIntervalMs} ms: p99 ${latency.polling.p99Ms} ms)`)
  const partition = {
    convergeSeconds: median(runs.map((r) => r.convergeSeconds)),
    bytesPerEdit: Math.round(median(runs.map((r) => r.bytesPerEdit))),
    editsLost: median(runs.map((r) => r.editsLost)),
    allConverged: runs.every((r) => r.allConverged),
    hubHeapMiB: Math.round(median(runs.map((r) => r.hubHeapBytes)) / 1024 / 1024),
    exchanges: median(runs.map((r) => r.exchanges)),
  }
  return {
    machine,
    settings,
    runs,
    partition,
    lastWriterWins: lww,
    latency,
    ratios: {
      bytesPerEditCrdtOverLww: Math.round((partition.bytesPerEdit / Math.max(1, lww.bytesPerEdit)) * 10) / 10,
      editsLostLww: lww.editsLost,
      editsLostCrdt: partition.editsLost,
      p99PollingOverCrdt: Math.round((latency.polling.p99Ms / Math.max(0.001, latency.crdt.p99Ms)) * 10) / 10,
    },
  }
}

export function formatConfigBenchReport(report: ConfigBenchReport): string {
  const s = report.settings
  const p = report.partition
  const l = report.latency
  return [
    `cloudos bench config  (${report.machine.cpus} CPUs, load average ${report.machine.loadAverage.join(' ')}, node ${report.machine.node}, ${report.machine.date})`,
    '',
    `Partition then heal: ${s.devices} devices x ${s.editsPerDevice} concurrent edits (half on site, half at the hub) + ${s.groupEdits} group edits, median of ${s.runs} run(s)`,
    `  CRDT (Automerge sync)        converged in ${p.convergeSeconds.toFixed(2)} s (target < 5 s), all identical: ${p.allConverged}, ${p.exchanges} exchanges`,
    `                               ${p.bytesPerEdit} bytes per edit, ${p.editsLost} edits lost, hub heap +${p.hubHeapMiB} MiB`,
    `  last-writer-wins JSON        ${Math.round(report.lastWriterWins.bytesPerEdit)} bytes per edit, ${report.lastWriterWins.editsLost} edits lost`,
    `  ratio                        CRDT sends ${report.ratios.bytesPerEditCrdtOverLww}x the bytes per edit and loses ${report.ratios.editsLostCrdt} edits where last-writer-wins loses ${report.ratios.editsLostLww}`,
    '',
    `Operator edit at the hub -> applied on an online edge (loopback), ${l.crdt.samples} edits`,
    `  CRDT long-poll push          p50 ${l.crdt.p50Ms} ms, p99 ${l.crdt.p99Ms} ms, max ${l.crdt.maxMs} ms (target p99 < 200 ms)`,
    `  polling every ${l.polling.pollIntervalMs} ms        p50 ${l.polling.p50Ms} ms, p99 ${l.polling.p99Ms} ms`,
    `  ratio                        polling p99 is ${report.ratios.p99PollingOverCrdt}x the push p99`,
    '',
  ].join('\n')
}
