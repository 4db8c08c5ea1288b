import { InvalidArgumentError, type Command } from 'commander'
import { integerFlag } from '../flags.js'

interface BenchOtaFlags {
  json?: boolean
  quick?: boolean
  runs?: number
  edges?: number
  loadGenerators?: number
  downloadConcurrency?: number
  sizes?: number[]
}

function sizeListFlag(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()))
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 4096)) {
    throw new InvalidArgumentError(`--sizes: give bundle sizes in MiB, comma-separated integers 1-4096 (got "${value}")`)
  }
  return sizes
}

/** `cloudos bench ota`: rollout to simulated edges, bytes, hub memory vs bundle size, against a naive readFile server. */
export function registerBenchOta(bench: Command): void {
  bench
    .command('ota')
    .description(
      'OTA: time from rollout start to every simulated edge committed (own keys, signed polls, Range downloads, sha256 checked, separate load-generator processes over loopback), ' +
        'bytes transferred and hub memory (RSS) for two bundle sizes, against a plain fastify route that reads the bundle into memory and sends it',
    )
    .option('--json', 'print one JSON object with every number instead of the table')
    .option('--quick', 'tiny counts to check the machinery, e.g. in tests')
    .option('--runs <n>', 'runs per system per bundle size; the median is reported (default 3)', integerFlag('--runs', 1, 100))
    .option('--edges <n>', 'simulated edges, each enrolled with its own key (default 100)', integerFlag('--edges', 1, 10_000))
    .option('--load-generators <n>', 'load-generator processes (default 2)', integerFlag('--load-generators', 1, 64))
    .option('--download-concurrency <n>', 'downloads in flight per load generator (default 8)', integerFlag('--download-concurrency', 1, 1024))
    .option('--sizes <mib,...>', 'bundle sizes in MiB (default 1,64)', sizeListFlag)
    .action(async (flags: BenchOtaFlags) => {
      const { runOtaBench, defaultOtaBenchSettings, quickOtaBenchSettings } = await import('../../bench/ota/ota-bench.js')
      const { formatOtaBenchReport } = await import('../../bench/ota/ota-bench-table.js')
      const base = { ...defaultOtaBenchSettings, ...(flags.quick === true ? quickOtaBenchSettings : {}) }
      const settings = {
        ...base,
        runs: flags.runs ?? base.runs,
        edges: flags.edges ?? base.edges,
        loadGenerators: flags.loadGenerators ?? base.loadGenerators,
        downloadConcurrency: flags.downloadConcurrency ?? base.downloadConcurrency,
        bundleSizesMiB: flags.sizes ?? base.bundleSizesMiB,
      }
      const report = await runOtaBench(settings, {
        onNotice: (message) => process.stderr.write(`[bench] ${message}\n`),
        onRun: (bytes, system, run, result) =>
          process.stderr.write(
            `[bench] ${(bytes / 1024 / 1024).toFixed(1)} MiB ${system} run ${run + 1}/${settings.runs}: ${result.seconds} s, ${(result.bytes / 1024 / 1024).toFixed(1)} MiB, peak RSS ${result.rssPeakBytes === null ? 'n/a' : `${(result.rssPeakBytes / 1024 / 1024).toFixed(1)} MiB`}${result.failed > 0 ? `, ${result.failed} failed: ${result.firstError ?? ''}` : ''}\n`,
          ),
      })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatOtaBenchReport(report))
    })
}
