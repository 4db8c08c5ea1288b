import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { parseScenarioList, type IngestScenarioId } from '../../bench/ingest/ingest-scenarios.js'
import { defaultIngestBenchSettings, quickSizes, type IngestBenchSettings } from '../../bench/ingest/ingest-settings.js'
import { integerFlag } from '../flags.js'
import { registerBenchOta } from './bench-ota.js'
import { registerBenchConfig } from './bench-config.js'
import { registerBenchOtaVerify } from './bench-ota-verify.js'

/**
 * `cloudos bench <name>`: benchmarks that measure a speed claim and, in the
 * same run, what a user would otherwise build (docs/benchmarks.md).
 */
export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmarks: measure CloudOS Lite against what a user would otherwise build, in the same run (see docs/benchmarks.md)')
  registerBenchIngest(bench)
  registerBenchHub(bench)
  registerBenchSync(bench)
  registerBenchCompress(bench)
  registerBenchConfig(bench)
  registerBenchInference(bench)
  registerBenchOta(bench)
  registerBenchOtaVerify(bench)
}

interface BenchSyncFlags {
  json?: boolean
  quick?: boolean
  runs?: number
  hours?: number
  baselineHours?: number
}

function registerBenchSync(bench: Command): void {
  bench
    .command('sync')
    .description(
      'store-and-forward: a 72 h offline backlog (20 sensors x 10 readings/s) drained from a real edge process to a real hub over loopback (readings/s end to end, bytes sent per reading), ' +
        'against gzip\'ed JSON lines POSTed to a plain fastify + SQLite endpoint',
    )
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', 'a 30-minute backlog to check the machinery, e.g. in tests')
    .option('--runs <n>', 'drains per system; the median is reported (default 3)', integerFlag('--runs', 1, 100))
    .option('--hours <n>', 'hours of backlog (default 72)', integerFlag('--hours', 1, 24 * 30))
    .option('--baseline-hours <n>', 'hours of the same data the baseline uploads (default 2)', integerFlag('--baseline-hours', 1, 24 * 30))
    .action(async (flags: BenchSyncFlags) => {
      const { runSyncBench, defaultSyncBenchSettings, quickSyncBenchSettings, formatSyncBenchReport } = await import('../../bench/sync/sync-bench.js')
      const base = { ...defaultSyncBenchSettings, ...(flags.quick === true ? quickSyncBenchSettings : {}) }
      const settings = { ...base, runs: flags.runs ?? base.runs, hours: flags.hours ?? base.hours, baselineHours: flags.baselineHours ?? base.baselineHours }
      const report = await runSyncBench(settings, { onNotice: (message) => process.stderr.write(`[bench] ${message}\n`) })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatSyncBenchReport(report))
    })
}

interface BenchInferenceFlags {
  json?: boolean
  quick?: boolean
  runs?: number
  probes?: number
  background?: number
}

function registerBenchInference(bench: Command): void {
  bench
    .command('inference')
    .description(
      'anomaly model latency per window (one window per call vs batched, real model on onnxruntime-node) and critical-decision latency ' +
        '(sensor publish -> alert at an MQTT subscriber through a real edge process under 10,000 readings/s of background load), with inference on and off',
    )
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', 'tiny counts to check the machinery, e.g. in tests')
    .option('--runs <n>', 'end-to-end runs per mode; the median is reported (default 3)', integerFlag('--runs', 1, 100))
    .option('--probes <n>', 'alerts timed per run (default 1000)', integerFlag('--probes', 10, 1_000_000))
    .option('--background <n>', 'background readings per second (default 10000)', integerFlag('--background', 0, 1_000_000))
    .action(async (flags: BenchInferenceFlags) => {
      const { runInferenceBench, defaultInferenceBenchSettings, quickInferenceBenchSettings } = await import('../../bench/inference/inference-bench.js')
      const { formatInferenceReport } = await import('../../bench/inference/inference-table.js')
      const base = flags.quick === true ? quickInferenceBenchSettings : defaultInferenceBenchSettings
      const settings = {
        ...base,
        decisionRuns: flags.runs ?? base.decisionRuns,
        decision: {
          ...base.decision,
          probes: flags.probes ?? base.decision.probes,
          backgroundReadingsPerSecond: flags.background ?? base.decision.backgroundReadingsPerSecond,
        },
      }
      const report = await runInferenceBench(settings, {
        onNotice: (message) => process.stderr.write(`[bench] ${message}\n`),
        onDecisionRun: (run, r) =>
          process.stderr.write(
            `[bench] ${r.mode} run ${run + 1}/${settings.decisionRuns}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, p99.9 ${r.p999Ms} ms (${r.samples} samples, ${r.lost} lost, background ${r.backgroundReadingsPerSecond}/s)\n`,
          ),
      })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatInferenceReport(report))
    })
}

interface BenchHubFlags {
  json?: boolean
  quick?: boolean
  runs?: number
  devices?: number
  heartbeats?: number
  loadGenerators?: number
  concurrency?: number
  fleetDevices?: number
}

function registerBenchHub(bench: Command): void {
  bench
    .command('hub')
    .description(
      'fleet hub: heartbeats/s and latency from simulated devices (own Ed25519 keys, signed requests, separate load-generator processes over loopback), ' +
        'signed-request verifications/s and fleet-list latency with 10,000 devices, against a plain fastify + SQLite route without authentication',
    )
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', 'tiny counts to check the machinery, e.g. in tests')
    .option('--runs <n>', 'runs per system; the median is reported (default 3)', integerFlag('--runs', 1, 100))
    .option('--devices <n>', 'devices enrolled over HTTP that send heartbeats (default 500)', integerFlag('--devices', 1, 100_000))
    .option('--heartbeats <n>', 'heartbeats per run (default 10,000)', integerFlag('--heartbeats', 10, 100_000_000))
    .option('--load-generators <n>', 'load-generator processes (default 2)', integerFlag('--load-generators', 1, 64))
    .option('--concurrency <n>', 'requests in flight per load generator (default 16)', integerFlag('--concurrency', 1, 1024))
    .option('--fleet-devices <n>', 'devices registered for the fleet-list measurement (default 10,000)', integerFlag('--fleet-devices', 1, 1_000_000))
    .action(async (flags: BenchHubFlags) => {
      const { runHubBench, defaultHubBenchSettings, quickHubBenchSettings } = await import('../../bench/hub/hub-bench.js')
      const { formatHubBenchReport } = await import('../../bench/hub/hub-bench-table.js')
      const base = { ...defaultHubBenchSettings, ...(flags.quick === true ? quickHubBenchSettings : {}) }
      const settings = {
        ...base,
        runs: flags.runs ?? base.runs,
        devices: flags.devices ?? base.devices,
        heartbeatsPerRun: flags.heartbeats ?? base.heartbeatsPerRun,
        loadGenerators: flags.loadGenerators ?? base.loadGenerators,
        concurrency: flags.concurrency ?? base.concurrency,
        fleetDevices: flags.fleetDevices ?? base.fleetDevices,
      }
      const report = await runHubBench(settings, {
        onNotice: (message) => process.stderr.write(`[bench] ${message}\n`),
        onRun: (system, run, result) =>
          process.stderr.write(
            `[bench] ${system} run ${run + 1}/${settings.runs}: ${result.heartbeatsPerSecond.toLocaleString('en-US')} heartbeats/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${result.failed > 0 ? `, ${result.failed} failed: ${result.firstError ?? ''}` : ''}\n`,
          ),
      })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatHubBenchReport(report))
    })
}

interface BenchIngestFlags {
  json?: boolean
  quick?: boolean
  runs: number
  publishers: number
  readings?: number
  batchedReadings?: number
  inflight: number
  runTimeout?: number
  scenarios: IngestScenarioId[]
  baseline: boolean
  secure: boolean
  edgeNodeArgs?: string
  edgeConfig?: string
}

function registerBenchIngest(bench: Command): void {
  const d = defaultIngestBenchSettings
  bench
    .command('ingest')
    .description(
      'MQTT -> SQLite ingest: readings/s committed by the edge (own process, driven by separate publisher processes over loopback) ' +
        'for QoS 0, QoS 1 and batched messages, its peak RSS, and the same load through Mosquitto + an mqtt.js/better-sqlite3 subscriber',
    )
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', `tiny counts (${quickSizes.singleReadings.toLocaleString('en-US')} / ${quickSizes.batchedReadings.toLocaleString('en-US')} readings) to check the machinery, e.g. in tests`)
    .option('--runs <n>', 'runs per scenario per system; the median is reported', integerFlag('--runs', 1, 100), d.runs)
    .option('--publishers <n>', 'publisher processes, one MQTT connection each', integerFlag('--publishers', 1, 64), d.publishers)
    .option('--readings <n>', `readings per run, single-reading scenarios (default ${d.singleReadings})`, integerFlag('--readings', 1, 100_000_000))
    .option('--batched-readings <n>', `readings per run, batched scenario (default ${d.batchedReadings})`, integerFlag('--batched-readings', 100, 1_000_000_000))
    .option('--inflight <n>', 'QoS 1: unacknowledged messages allowed per connection', integerFlag('--inflight', 1, 65_000), d.inflightWindow)
    .option('--run-timeout <seconds>', `a run that has not committed everything by then is reported as partial (default ${d.runTimeoutMs / 1000})`, integerFlag('--run-timeout', 1, 800))
    .option('--scenarios <list>', 'comma-separated subset of qos0-single,qos1-single,qos1-batch100', scenarioListFlag, d.scenarios)
    .option('--no-baseline', 'do not measure the Mosquitto baseline')
    .option('--no-secure', 'do not measure QoS 1 single readings on the broker\'s secure (TLS) listener')
    .option('--edge-node-args <flags>', 'node flags for the edge process, e.g. --edge-node-args="--max-old-space-size=48"')
    .option('--edge-config <file>', 'edge config file (cloudos edge --config)')
    .action(async (flags: BenchIngestFlags) => {
      // Loaded on use: every `cloudos` command (the edge included) parses this file.
      const { runIngestBench } = await import('../../bench/ingest/ingest-bench.js')
      const { formatIngestReport } = await import('../../bench/ingest/ingest-table.js')
      const settings = settingsFrom(flags)
      const report = await runIngestBench(settings, {
        onNotice: (message) => process.stderr.write(`[bench] ${message}\n`),
        onRun: (scenario, system, run, result) => {
          const status = result.end === 'complete' ? '' : ` [${result.end}: ${result.committedReadings}/${result.expectedReadings} committed]`
          process.stderr.write(
            `[bench] ${scenario.id} ${system} run ${run + 1}/${settings.runs}: ` +
              `${Math.round(result.readingsPerSecond).toLocaleString('en-US')} readings/s in ${result.seconds.toFixed(2)} s${status}\n`,
          )
        },
      })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatIngestReport(report))
    })
}

function settingsFrom(flags: BenchIngestFlags): IngestBenchSettings {
  const quick = flags.quick === true
  const sizes = quick ? quickSizes : undefined
  return {
    ...defaultIngestBenchSettings,
    quick,
    runs: flags.runs,
    publishers: flags.publishers,
    inflightWindow: flags.inflight,
    singleReadings: flags.readings ?? sizes?.singleReadings ?? defaultIngestBenchSettings.singleReadings,
    batchedReadings: flags.batchedReadings ?? sizes?.batchedReadings ?? defaultIngestBenchSettings.batchedReadings,
    runTimeoutMs: flags.runTimeout !== undefined ? flags.runTimeout * 1000 : (sizes?.runTimeoutMs ?? defaultIngestBenchSettings.runTimeoutMs),
    stallMs: sizes?.stallMs ?? defaultIngestBenchSettings.stallMs,
    scenarios: flags.scenarios,
    baseline: flags.baseline,
    secure: flags.secure,
    edgeNodeArgs: flags.edgeNodeArgs === undefined ? [] : flags.edgeNodeArgs.split(/\s+/).filter((a) => a !== ''),
    ...(flags.edgeConfig === undefined ? {} : { edgeConfig: resolve(flags.edgeConfig) }),
  }
}

function scenarioListFlag(value: string): IngestScenarioId[] {
  try {
    const ids = parseScenarioList(value)
    if (ids.length === 0) throw new Error('name at least one scenario')
    return ids
  } catch (err) {
    throw new InvalidArgumentError(`--scenarios: ${(err as Error).message}.`)
  }
}

interface BenchCompressFlags {
  json?: boolean
  quick?: boolean
  runs?: number
  baselineRuns?: number
  level?: number
  input?: string[]
}

function registerBenchCompress(bench: Command): void {
  bench
    .command('compress')
    .description(
      'telemetry batch codec (columnar + zstd): bytes per reading, reduction vs JSON lines, encode/decode MB/s, on the NAB corpus (or given CSVs) and on simulator data, ' +
        'against gzip -9 and zstd -19 of the same JSON lines',
    )
    .option('--input <csv...>', '"timestamp,value" CSV files to use instead of the NAB corpus')
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', 'a small subset (2 NAB files, 30 simulated seconds, 2 runs) to check the machinery, e.g. in tests')
    .option('--runs <n>', 'runs per dataset; speeds are medians (default 5)', integerFlag('--runs', 1, 100))
    .option('--baseline-runs <n>', 'runs of gzip -9 and zstd -19 (default 1: sizes never change, zstd -19 is slow)', integerFlag('--baseline-runs', 1, 100))
    .option('--level <n>', 'zstd level of the codec, 1-22 (default: the codec default)', integerFlag('--level', 1, 22))
    .action(async (flags: BenchCompressFlags) => {
      const { runCompressBench, defaultCompressBenchSettings, quickCompressBenchSettings } = await import('../../bench/compress/compress-bench.js')
      const { formatCompressReport } = await import('../../bench/compress/compress-table.js')
      const quick = flags.quick === true
      const settings = {
        ...defaultCompressBenchSettings,
        quick,
        inputs: flags.input?.map((file) => resolve(file)),
        simulator: quick ? quickCompressBenchSettings.simulator : defaultCompressBenchSettings.simulator,
        runs: flags.runs ?? (quick ? quickCompressBenchSettings.runs : defaultCompressBenchSettings.runs),
        baselineRuns: flags.baselineRuns ?? defaultCompressBenchSettings.baselineRuns,
        level: flags.level ?? defaultCompressBenchSettings.level,
      }
      const report = await runCompressBench(settings, { onNotice: (message) => process.stderr.write(`[bench] ${message}\n`) })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatCompressReport(report))
    })
}
