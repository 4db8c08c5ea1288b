import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { parseScenarioList, type IngestScenarioId } from '../../edge/bench/ingest-scenarios.js'
import { defaultIngestBenchSettings, quickSizes, type IngestBenchSettings } from '../../edge/bench/ingest-settings.js'
import { integerFlag } from '../flags.js'
import { registerBenchOta } from './bench-ota.js'
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
  registerBenchOta(bench)
  registerBenchOtaVerify(bench)
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
      const { runHubBench, defaultHubBenchSettings, quickHubBenchSettings } = await import('../../cloud/bench/hub-bench.js')
      const { formatHubBenchReport } = await import('../../cloud/bench/hub-bench-table.js')
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
    .option('--edge-node-args <flags>', 'node flags for the edge process, e.g. --edge-node-args="--max-old-space-size=48"')
    .option('--edge-config <file>', 'edge config file (cloudos edge --config)')
    .action(async (flags: BenchIngestFlags) => {
      // Loaded on use: every `cloudos` command (the edge included) parses this file.
      const { runIngestBench } = await import('../../edge/bench/ingest-bench.js')
      const { formatIngestReport } = await import('../../edge/bench/ingest-table.js')
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
