import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'
import { runSyncBaseline, type BaselineResult } from './sync-baseline.js'
import { defaultMaxBytes, drainToHub, fillOfflineBacklog, startBenchHub, type DrainResult } from './sync-setup.js'

export interface SyncBenchSettings {
  quick: boolean
  /** Hours of backlog (72: what UC-004 asks an edge to hold offline). */
  hours: number
  sensors: number
  readingsPerSecond: number
  /** Drains (and baseline runs) per system; medians are reported. */
  runs: number
  /** Hours of the same data the baseline uploads (it is much slower; its rate is per reading). */
  baselineHours: number
  baselineBatchReadings: number
}

export const defaultSyncBenchSettings: SyncBenchSettings = { quick: false, hours: 72, sensors: 20, readingsPerSecond: 10, runs: 3, baselineHours: 2, baselineBatchReadings: 10_000 }
export const quickSyncBenchSettings: Partial<SyncBenchSettings> = { quick: true, hours: 0.5, runs: 2, baselineHours: 0.1 }

export interface SyncBenchReport {
  machine: MachineFacts
  settings: SyncBenchSettings
  backlog: {
    readings: number
    batches: number
    dbBytes: number
    maxBytes: number
    bytesPerReadingOnDisk: number
    sealedBytesPerReading: number
    dropped: number
    fillSeconds: number
  }
  cloudos: { runs: DrainResult[]; medianReadingsPerSecond: number; medianSeconds: number; bodyBytesPerReading: number }
  baseline: { runs: BaselineResult[]; medianReadingsPerSecond: number; gzipBytesPerReading: number; jsonBytesPerReading: number }
  /** cloudos / baseline readings per second. */
  throughputRatio: number
  /** baseline gzip'ed JSON bytes / cloudos batch bytes, per reading. */
  bytesRatio: number
}

export interface SyncBenchHooks {
  onNotice?: (message: string) => void
}

/**
 * `cloudos bench sync`: an offline backlog (72 h of 20 sensors at 10/s by
 * default) drained from a real edge process to a real hub over loopback,
 * against gzip'ed JSON lines POSTed to a plain fastify + SQLite endpoint.
 */
export async function runSyncBench(settings: SyncBenchSettings, hooks: SyncBenchHooks = {}): Promise<SyncBenchReport> {
  const notice = hooks.onNotice ?? (() => undefined)
  const machine = machineFacts()
  const root = mkdtempSync(join(tmpdir(), 'cloudos-bench-sync-'))
  try {
    const filledDir = join(root, 'filled')
    notice(`filling ${settings.hours} h of ${settings.sensors} sensors at ${settings.readingsPerSecond}/s through the commit path (accelerated clock)...`)
    const backlog = fillOfflineBacklog(filledDir, {
      hours: settings.hours,
      sensors: settings.sensors,
      readingsPerSecond: settings.readingsPerSecond,
      onProgress: (hours, readings) => {
        if (Number.isInteger(hours) && hours % 6 === 0) notice(`  ${hours} h simulated, ${readings.toLocaleString('en-US')} readings`)
      },
    })
    notice(`backlog: ${backlog.readings.toLocaleString('en-US')} readings, ${backlog.batches} batches, ${(backlog.dbBytes / 1024 / 1024).toFixed(1)} MiB on disk, filled in ${backlog.fillSeconds.toFixed(1)} s`)
    const drains: DrainResult[] = []
    let bodyBytes = 0
    for (let run = 0; run < settings.runs; run++) {
      const edgeDir = join(root, `edge-${run}`)
      cpSync(filledDir, edgeDir, { recursive: true })
      const hubDir = join(root, `hub-${run}`)
      mkdirSync(hubDir)
      const hub = await startBenchHub(hubDir)
      try {
        const result = await drainToHub({ edgeDataDir: edgeDir, hub, expectedReadings: backlog.readings, timeoutMs: 60 * 60_000 })
        if (result.readings !== backlog.readings) throw new Error(`the hub holds ${result.readings} readings, expected ${backlog.readings}`)
        bodyBytes = hub.storedBytes()
        drains.push(result)
        notice(`cloudos run ${run + 1}/${settings.runs}: ${Math.round(result.readingsPerSecond).toLocaleString('en-US')} readings/s (${result.seconds.toFixed(2)} s)`)
      } finally {
        await hub.close()
        rmSync(edgeDir, { recursive: true, force: true })
        rmSync(hubDir, { recursive: true, force: true })
      }
    }
    const baselines: BaselineResult[] = []
    for (let run = 0; run < settings.runs; run++) {
      const dir = join(root, `baseline-${run}`)
      mkdirSync(dir)
      try {
        const result = await runSyncBaseline(dir, { hours: settings.baselineHours, sensors: settings.sensors, readingsPerSecond: settings.readingsPerSecond, batchReadings: settings.baselineBatchReadings })
        baselines.push(result)
        notice(`baseline run ${run + 1}/${settings.runs}: ${Math.round(result.readingsPerSecond).toLocaleString('en-US')} readings/s (${result.readings.toLocaleString('en-US')} readings in ${result.seconds.toFixed(2)} s)`)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    const cloudosRate = median(drains.map((d) => d.readingsPerSecond))
    const baselineRate = median(baselines.map((b) => b.readingsPerSecond))
    const bodyBytesPerReading = bodyBytes / backlog.readings
    const gzipBytesPerReading = median(baselines.map((b) => b.gzipBytesPerReading))
    return {
      machine,
      settings,
      backlog: {
        readings: backlog.readings,
        batches: backlog.batches,
        dbBytes: backlog.dbBytes,
        maxBytes: defaultMaxBytes(),
        bytesPerReadingOnDisk: backlog.dbBytes / backlog.readings,
        sealedBytesPerReading: backlog.sealedBytes / backlog.readings,
        dropped: backlog.dropped,
        fillSeconds: backlog.fillSeconds,
      },
      cloudos: { runs: drains, medianReadingsPerSecond: cloudosRate, medianSeconds: median(drains.map((d) => d.seconds)), bodyBytesPerReading },
      baseline: { runs: baselines, medianReadingsPerSecond: baselineRate, gzipBytesPerReading, jsonBytesPerReading: median(baselines.map((b) => b.jsonBytesPerReading)) },
      throughputRatio: cloudosRate / baselineRate,
      bytesRatio: gzipBytesPerReading / bodyBytesPerReading,
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

export function formatSyncBenchReport(report: SyncBenchReport): string {
  const { backlog, cloudos, baseline, settings, machine } = report
  return [
    `cloudos bench sync${settings.quick ? ' --quick' : ''}: ${settings.hours} h offline backlog of ${settings.sensors} sensors x ${settings.readingsPerSecond} readings/s, drained edge -> hub over loopback`,
    `machine: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load average at start ${machine.loadAverage.join(' / ')}`,
    '',
    `backlog       ${fmt(backlog.readings)} readings in ${backlog.batches} sealed batches; edge database ${fmt(backlog.dbBytes / 1024 / 1024, 1)} MiB of the ${fmt(backlog.maxBytes / 1024 / 1024)} MiB budget`,
    `              ${fmt(backlog.bytesPerReadingOnDisk, 2)} bytes/reading on disk (${fmt(backlog.sealedBytesPerReading, 2)} in the batches), ${fmt(backlog.dropped)} dropped`,
    '',
    `                                   readings/s (median of ${settings.runs})   bytes sent/reading`,
    `CloudOS outbox -> hub             ${fmt(cloudos.medianReadingsPerSecond).padStart(14)}                   ${fmt(cloudos.bodyBytesPerReading, 2)}`,
    `gzip JSON lines -> fastify+SQLite ${fmt(baseline.medianReadingsPerSecond).padStart(14)}                   ${fmt(baseline.gzipBytesPerReading, 2)} (${fmt(baseline.jsonBytesPerReading, 1)} uncompressed)`,
    '',
    `ratio: ${fmt(report.throughputRatio, 1)}x the readings/s, ${fmt(report.bytesRatio, 1)}x fewer bytes sent (baseline over ${settings.baselineHours} h of the same data, ${settings.baselineBatchReadings} readings per request)`,
    `drain time (median): ${fmt(cloudos.medianSeconds, 1)} s, from starting the edge process to the hub holding every reading; target >= 1,000,000 readings/s`,
    '',
  ].join('\n')
}
