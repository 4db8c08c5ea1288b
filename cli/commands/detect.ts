import { resolve } from 'node:path'
import type { Command } from 'commander'
import { integerFlag } from '../flags.js'

interface DetectFlags {
  input: string
  output: string
  model?: string
  series?: string
  chunkSize: number
  strict?: boolean
  json?: boolean
}

/**
 * `cloudos detect`: backtests the edge's anomaly detector over a
 * `timestamp,value` CSV (docs/operations.md, "Backtesting and NAB evaluation").
 */
export function registerDetectCommand(program: Command): void {
  program
    .command('detect')
    .description('run the edge\'s anomaly detector over a timestamp,value CSV in stream order (no look-ahead) and write timestamp,value,anomaly_score')
    .requiredOption('--input <file.csv>', 'timestamp,value CSV (NAB layout; timestamps "YYYY-MM-DD HH:MM:SS" UTC or epoch ms)')
    .requiredOption('--output <file.csv>', 'where to write timestamp,value,anomaly_score ("-": stdout); written whole or not at all')
    .option('--model <path>', 'the model: an .onnx file with its .card.json beside it, or the card (default: the shipped model)')
    .option('--series <key>', 'series key the detector sees, <sensorId>/<metric> (default: <file name>/value)')
    .option('--chunk-size <n>', 'readings per scoreBatch call, like one edge tick (scores do not depend on it)', integerFlag('--chunk-size', 1, 10_000), 16)
    .option('--strict', 'stop at a row whose value is not a finite number (DETECT_ERR_BAD_VALUE) instead of skipping and counting it')
    .option('--json', 'print the run summary as JSON on stdout (not with --output -)')
    .action(async (flags: DetectFlags) => {
      // Loaded on use: onnxruntime is heavy and most commands never need it.
      const { createDetector, defaultModelPath } = await import('../../shared/anomaly/index.js')
      const { detectCsv } = await import('../../models/backtest/detect-csv.js')
      const { sensorIdFromFileName } = await import('../../shared/simulator/replay-timing.js')
      const detector = await createDetector(flags.model === undefined ? defaultModelPath() : resolve(flags.model))
      try {
        const toStdout = flags.output === '-'
        const summary = await detectCsv({
          input: resolve(flags.input),
          output: toStdout ? process.stdout : resolve(flags.output),
          detector,
          seriesKey: flags.series ?? `${sensorIdFromFileName(flags.input)}/value`,
          chunkSize: flags.chunkSize,
          strict: flags.strict === true,
        })
        if (flags.json === true && !toStdout) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
        } else {
          const skipped = summary.skipped === 0 ? '' : `, ${summary.skipped} skipped (value not a finite number; lines ${summary.skippedLines.join(', ')}${summary.skipped > summary.skippedLines.length ? ', ...' : ''})`
          process.stderr.write(
            `detect: ${summary.rows} rows from ${summary.input}: ${summary.written} written to ${summary.output}, ${summary.scored} scored${skipped}; ` +
              `model ${summary.model.name} ${summary.model.version}, ${summary.seconds.toFixed(2)} s\n`,
          )
        }
      } finally {
        await detector.close()
      }
    })
}
