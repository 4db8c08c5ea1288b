import { resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { Option, type Command } from 'commander'
import { integerFlag, numberFlag } from '../flags.js'

interface ModelEvalFlags {
  nab: string
  model?: string
  results?: string
  outputDir?: string
  jobs?: number
  chunkSize: number
  threshold?: number
  json?: boolean
}

/**
 * `cloudos model eval --nab DIR`: scores a model on a NAB-layout corpus with
 * NAB's rules (docs/operations.md, "Backtesting and NAB evaluation").
 */
export function registerModelEval(model: Command): void {
  model
    .command('eval')
    .description('run the detector over a NAB-layout folder (as cloudos detect does) and print the NAB score per profile, threshold optimised as NAB does')
    .requiredOption('--nab <dir>', 'NAB-layout folder: data/<category>/<file>.csv, labels/combined_windows.json, profiles.json')
    .option('--model <path>', 'the model to evaluate: an .onnx with its .card.json beside it, or the card (default: the shipped model)')
    .addOption(new Option('--results <dir>', 'score existing detection CSVs (<category>/<file>.csv with an anomaly_score column) instead of running a model').conflicts(['model', 'outputDir', 'jobs']))
    .option('--output-dir <dir>', 'keep the detection CSVs here, in NAB\'s results layout (default: a temporary folder, removed)')
    .option('--jobs <n>', 'files run in parallel, one worker process each (default: CPU count, at most 2; 1 runs in this process)', integerFlag('--jobs', 1, 64))
    .option('--chunk-size <n>', 'readings per scoreBatch call, as in cloudos detect', integerFlag('--chunk-size', 1, 10_000), 16)
    .option('--threshold <t>', 'score at this anomaly-score threshold instead of optimising it per profile', numberFlag('--threshold', -1e9, 1e9))
    .option('--json', 'print the full report (per profile and per file) as JSON')
    .action(async (flags: ModelEvalFlags) => {
      const { evaluateNab } = await import('../../models/backtest/nab-eval.js')
      const { formatNabReport } = await import('../../models/backtest/nab-report-table.js')
      const report = await evaluateNab({
        dir: resolve(flags.nab),
        ...(flags.model === undefined ? {} : { modelPath: resolve(flags.model) }),
        ...(flags.results === undefined ? {} : { resultsDir: resolve(flags.results) }),
        ...(flags.outputDir === undefined ? {} : { outputDir: resolve(flags.outputDir) }),
        jobs: flags.jobs ?? Math.min(2, availableParallelism()),
        chunkSize: flags.chunkSize,
        ...(flags.threshold === undefined ? {} : { threshold: flags.threshold }),
        onFileDone: (file, summary, completed, total) =>
          process.stderr.write(`[eval] ${completed}/${total} ${file}: ${summary.written} rows, ${summary.seconds.toFixed(2)} s\n`),
      })
      process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatNabReport(report))
    })
}
