import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { compress as zstdCompress } from 'zstd-napi'
import { packageRoot } from '../../shared/package-root.js'
import { batchReadingCount, decodeBatch, DEFAULT_ZSTD_LEVEL, encodeBatch, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { type BatchCut, csvDataset, csvFilesUnder, cutBatches, type Dataset, jsonLines, simulatorDataset, type SimulatorShape } from './compress-datasets.js'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'

/**
 * `cloudos bench compress`: the telemetry batch codec against gzip -9 and
 * zstd -19 of the same readings as JSON lines, in the same run, on the NAB
 * corpus (or given CSVs) and on simulator data (docs/benchmarks.md).
 */

export const COMPRESS_TARGETS = {
  /** Over the NAB set: codec bytes at most 5% of the JSON lines. */
  reductionVsJson: 0.95,
  /** Codec at least this many times smaller than zstd -19 of the JSON lines. */
  ratioVsZstd19: 1.5,
  /** Encode speed in MB of JSON-equivalent input per second. */
  encodeMBps: 50,
} as const

export interface CompressBenchSettings {
  /** CSV files; undefined = every NAB file. */
  inputs: string[] | undefined
  simulator: SimulatorShape
  runs: number
  /** Runs of gzip -9 and zstd -19: their sizes never change and zstd -19 runs at about 1 MB/s, so one run by default. */
  baselineRuns: number
  level: number
  quick: boolean
}

export const defaultCompressBenchSettings: CompressBenchSettings = {
  inputs: undefined,
  simulator: { sensors: 20, readingsPerSecond: 10, seconds: 3600, seed: 7 },
  runs: 5,
  baselineRuns: 1,
  level: DEFAULT_ZSTD_LEVEL,
  quick: false,
}

/** --quick: two NAB files, 30 simulated seconds, two runs: checks the machinery only. */
export const quickCompressBenchSettings = { simulator: { sensors: 20, readingsPerSecond: 10, seconds: 30, seed: 7 }, runs: 2, nabFiles: 2 } as const

export interface SizeReport {
  bytes: number
  bytesPerReading: number
}

export interface CutReport {
  dataset: string
  cut: BatchCut
  batches: number
  readings: number
  jsonLines: SizeReport
  /**
   * Speeds are wall-clock MB of JSON-lines input per second; the *CpuMBps
   * figures divide by the CPU time the process used instead, which a shared,
   * overloaded machine distorts far less (both are medians).
   */
  codec: SizeReport & { reductionVsJson: number; encodeMBps: number; decodeMBps: number; encodeCpuMBps: number; decodeCpuMBps: number }
  zstd19: SizeReport & { reductionVsJson: number; encodeMBps: number }
  gzip9: SizeReport & { reductionVsJson: number; encodeMBps: number }
  /** zstd19.bytes / codec.bytes: how many times smaller the codec is. */
  ratioVsZstd19: number
  ratioVsGzip9: number
  /** Every speed sample (MB/s of JSON-equivalent input), for the record. */
  runs: { encodeMBps: number[]; decodeMBps: number[]; encodeCpuMBps: number[]; decodeCpuMBps: number[]; zstd19MBps: number[]; gzip9MBps: number[] }
}

export interface CompressBenchReport {
  benchmark: 'compress'
  machine: MachineFacts
  settings: { runs: number; baselineRuns: number; level: number; quick: boolean; inputs: string; simulator: string }
  datasets: { name: string; description: string; readings: number }[]
  results: CutReport[]
  targets: {
    reductionVsJson: { target: number; actual: number; pass: boolean }
    ratioVsZstd19: { target: number; actual: number; pass: boolean }
    encodeMBps: { target: number; actual: number; pass: boolean }
  }
  pass: boolean
}

export interface CompressBenchHooks {
  onNotice?: (message: string) => void
}

export async function runCompressBench(settings: CompressBenchSettings, hooks: CompressBenchHooks = {}): Promise<CompressBenchReport> {
  const machine = machineFacts()
  const nabDir = join(packageRoot(), '..', 'shared', 'datasets', 'nab', 'data')
  let files = settings.inputs ?? (await csvFilesUnder(nabDir))
  if (settings.inputs === undefined && settings.quick) files = files.slice(0, quickCompressBenchSettings.nabFiles)
  const csvName = settings.inputs === undefined ? 'nab' : 'input'
  const csv = await csvDataset(csvName, settings.inputs === undefined ? `NAB corpus, ${files.length} files (${nabDir})` : `${files.length} given CSV file(s)`, files)
  const simulator = simulatorDataset(settings.simulator)
  const datasets = [csv, simulator]
  const results: CutReport[] = []
  for (const dataset of datasets) {
    for (const cut of ['per-source', 'per-10k', 'per-1k'] as const) {
      hooks.onNotice?.(`${dataset.name} ${cut}: ${settings.runs} run(s)`)
      results.push(measureCut(dataset, cut, settings))
    }
  }
  const csvResults = results.filter((r) => r.dataset === csvName)
  // The headline is the edge's own cut (per 10,000 readings) on the CSV set.
  // Encode speed: the slowest cut of all, per CPU second, because the 2-core
  // machine these runs share is often loaded many times over (wall-clock MB/s
  // are reported beside it).
  const headline = csvResults.find((r) => r.cut === 'per-10k') as CutReport
  const encodeMBps = Math.min(...results.map((r) => r.codec.encodeCpuMBps))
  const targets = {
    reductionVsJson: { target: COMPRESS_TARGETS.reductionVsJson, actual: headline.codec.reductionVsJson, pass: headline.codec.reductionVsJson >= COMPRESS_TARGETS.reductionVsJson },
    ratioVsZstd19: { target: COMPRESS_TARGETS.ratioVsZstd19, actual: headline.ratioVsZstd19, pass: headline.ratioVsZstd19 >= COMPRESS_TARGETS.ratioVsZstd19 },
    encodeMBps: { target: COMPRESS_TARGETS.encodeMBps, actual: encodeMBps, pass: encodeMBps >= COMPRESS_TARGETS.encodeMBps },
  }
  return {
    benchmark: 'compress',
    machine,
    settings: { runs: settings.runs, baselineRuns: settings.baselineRuns, level: settings.level, quick: settings.quick, inputs: csv.description, simulator: simulator.description },
    datasets: datasets.map((d) => ({ name: d.name, description: d.description, readings: d.devices.reduce((n, dev) => n + batchReadingCount({ seq: 0, series: dev.series }), 0) })),
    results,
    targets,
    pass: targets.reductionVsJson.pass && targets.ratioVsZstd19.pass && targets.encodeMBps.pass,
  }
}

function measureCut(dataset: Dataset, cut: BatchCut, settings: CompressBenchSettings): CutReport {
  const batches = cutBatches(dataset, cut)
  const json = batches.map(jsonLines)
  const readings = batches.reduce((n, b) => n + batchReadingCount(b), 0)
  const jsonBytes = json.reduce((n, b) => n + b.length, 0)
  const mb = jsonBytes / 1e6
  const runs = { encodeMBps: [] as number[], decodeMBps: [] as number[], encodeCpuMBps: [] as number[], decodeCpuMBps: [] as number[], zstd19MBps: [] as number[], gzip9MBps: [] as number[] }
  let encoded: Buffer[] = []
  let zstdBytes = 0
  let gzipBytes = 0
  // One untimed pass first so the JIT has compiled the codec before the clock runs.
  for (const bytes of batches.map((b) => encodeBatch(b, { level: settings.level }))) decodeBatch(bytes)
  for (let run = 0; run < settings.runs; run++) {
    let started = performance.now()
    let cpu = process.cpuUsage()
    encoded = batches.map((b) => encodeBatch(b, { level: settings.level }))
    runs.encodeMBps.push(mb / ((performance.now() - started) / 1000))
    runs.encodeCpuMBps.push(mb / cpuSeconds(cpu))
    started = performance.now()
    cpu = process.cpuUsage()
    let decodedReadings = 0
    for (const bytes of encoded) decodedReadings += batchReadingCount(decodeBatch(bytes))
    runs.decodeMBps.push(mb / ((performance.now() - started) / 1000))
    runs.decodeCpuMBps.push(mb / cpuSeconds(cpu))
    if (decodedReadings !== readings) throw new Error(`decoded ${decodedReadings} readings, encoded ${readings}`)
    if (run >= settings.baselineRuns) continue
    started = performance.now()
    zstdBytes = json.reduce((n, b) => n + zstdCompress(b, { compressionLevel: 19 }).length, 0)
    runs.zstd19MBps.push(mb / ((performance.now() - started) / 1000))
    started = performance.now()
    gzipBytes = json.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0)
    runs.gzip9MBps.push(mb / ((performance.now() - started) / 1000))
  }
  verifyRoundTrip(batches, encoded)
  const codecBytes = encoded.reduce((n, b) => n + b.length, 0)
  const size = (bytes: number): SizeReport => ({ bytes, bytesPerReading: round(bytes / readings, 3) })
  const reduction = (bytes: number) => round(1 - bytes / jsonBytes, 4)
  return {
    dataset: dataset.name,
    cut,
    batches: batches.length,
    readings,
    jsonLines: size(jsonBytes),
    codec: {
      ...size(codecBytes),
      reductionVsJson: reduction(codecBytes),
      encodeMBps: round(median(runs.encodeMBps), 1),
      decodeMBps: round(median(runs.decodeMBps), 1),
      encodeCpuMBps: round(median(runs.encodeCpuMBps), 1),
      decodeCpuMBps: round(median(runs.decodeCpuMBps), 1),
    },
    zstd19: { ...size(zstdBytes), reductionVsJson: reduction(zstdBytes), encodeMBps: round(median(runs.zstd19MBps), 1) },
    gzip9: { ...size(gzipBytes), reductionVsJson: reduction(gzipBytes), encodeMBps: round(median(runs.gzip9MBps), 1) },
    ratioVsZstd19: round(zstdBytes / codecBytes, 2),
    ratioVsGzip9: round(gzipBytes / codecBytes, 2),
    runs: Object.fromEntries(Object.entries(runs).map(([key, list]) => [key, list.map((v) => round(v, 1))])) as CutReport['runs'],
  }
}

/** A benchmark of a codec that loses data would be worthless: check every bit once, outside the timing. */
function verifyRoundTrip(batches: TelemetryBatch[], encoded: Buffer[]): void {
  batches.forEach((batch, b) => {
    const back = decodeBatch(encoded[b] as Buffer)
    batch.series.forEach((s, i) => {
      const got = back.series[i]
      const same = (x: Float64Array, y: Float64Array | undefined) =>
        y !== undefined && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))
      if (got === undefined || got.sensorId !== s.sensorId || !same(s.timestamps, got.timestamps) || !same(s.values, got.values)) {
        throw new Error(`batch ${b} series ${i} (${s.sensorId}) does not round-trip`)
      }
    })
  })
}

/** CPU seconds (user + system) since `since`; never zero, so a rate stays finite. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return Math.max(1e-6, (used.user + used.system) / 1e6)
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
