import type { Writable } from 'node:stream'
import type { AnomalyDetector, DetectorInput } from '../../shared/anomaly/detector.js'
import { CsvSink } from './csv-sink.js'
import { DetectError } from './detect-error.js'
import { readSeriesCsv, type SeriesRow } from './series-csv-rows.js'

/**
 * Readings handed to the detector per scoreBatch call. The edge scores what
 * arrived during one tick; a sensor at a few readings per second contributes
 * a handful per tick, and a replayed or batched sensor more. The detector
 * scores each reading from the readings before it only, so the chunk size
 * changes the cost, never the scores.
 */
export const DEFAULT_DETECT_CHUNK = 16
/** Line numbers of skipped rows kept for the summary. */
const SKIPPED_LINES_KEPT = 20

export interface DetectCsvOptions {
  input: string
  /** A file path, or a stream (e.g. process.stdout). */
  output: string | Writable
  detector: AnomalyDetector
  /** The series the readings belong to, as the edge would key them: `<sensorId>/<metric>`. */
  seriesKey: string
  chunkSize?: number
  /** Stop at the first row whose value is not a finite number (DETECT_ERR_BAD_VALUE) instead of skipping it. */
  strict?: boolean
}

export interface DetectCsvSummary {
  input: string
  output: string
  seriesKey: string
  model: { name: string; version: string; sha256: string }
  /** Data rows read. */
  rows: number
  /** Rows written with a score (every row not skipped). */
  written: number
  /** Rows whose score was a number (the rest were written as 0 while the detector's window filled). */
  scored: number
  /** Rows skipped because their value is missing or not a finite number, as the edge rejects such readings. */
  skipped: number
  /** The first skipped rows' line numbers. */
  skippedLines: number[]
  seconds: number
}

export const DETECT_OUTPUT_HEADER = 'timestamp,value,anomaly_score'

/**
 * Runs a detector over a `timestamp,value` CSV in stream order and writes
 * `timestamp,value,anomaly_score`: the backtest of what the edge would have
 * scored. Rows go through the same AnomalyDetector the edge uses, in file
 * order, a chunk at a time; a chunk is scored before the next is read, so no
 * score can depend on a later row (no look-ahead).
 *
 * A score is written as 0 while the detector's window is still filling
 * (the detector says NaN): NAB's scorer and most tools expect a number on
 * every row, and 0 is never a detection.
 */
export async function detectCsv(options: DetectCsvOptions): Promise<DetectCsvSummary> {
  const chunkSize = options.chunkSize ?? DEFAULT_DETECT_CHUNK
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer (got ${chunkSize})`)
  const startedAt = performance.now()
  const outputName = typeof options.output === 'string' ? options.output : 'stdout'
  const { model } = options.detector
  const summary: DetectCsvSummary = {
    input: options.input,
    output: outputName,
    seriesKey: options.seriesKey,
    model: { name: model.name, version: model.version, sha256: model.sha256 },
    rows: 0,
    written: 0,
    scored: 0,
    skipped: 0,
    skippedLines: [],
    seconds: 0,
  }
  const rows = readSeriesCsv(options.input)
  // Open the input first: a missing input must not leave an output behind.
  const first = await rows.next()
  const sink = typeof options.output === 'string' ? await CsvSink.toFile(options.output) : CsvSink.toStream(options.output)
  try {
    await sink.write(`${DETECT_OUTPUT_HEADER}\n`)
    let chunk: SeriesRow[] = []
    let next = first
    while (next.done !== true) {
      const row = next.value
      summary.rows++
      if (Number.isNaN(row.value)) {
        if (options.strict === true) {
          throw new DetectError('DETECT_ERR_BAD_VALUE', `${options.input}:${row.line}: value ${JSON.stringify(row.valueText)} is not a finite number`, {
            file: options.input,
            line: row.line,
          })
        }
        summary.skipped++
        if (summary.skippedLines.length < SKIPPED_LINES_KEPT) summary.skippedLines.push(row.line)
      } else {
        chunk.push(row)
        if (chunk.length >= chunkSize) {
          await scoreAndWrite(chunk, options, sink, summary)
          chunk = []
        }
      }
      next = await rows.next()
    }
    if (chunk.length > 0) await scoreAndWrite(chunk, options, sink, summary)
    await sink.finish()
  } catch (err) {
    await rows.return(undefined)
    await sink.abandon()
    throw err
  }
  summary.seconds = (performance.now() - startedAt) / 1000
  return summary
}

async function scoreAndWrite(chunk: readonly SeriesRow[], options: DetectCsvOptions, sink: CsvSink, summary: DetectCsvSummary): Promise<void> {
  const inputs: DetectorInput[] = chunk.map((row) => ({ seriesKey: options.seriesKey, ts: row.ts, value: row.value }))
  const scores = await options.detector.scoreBatch(inputs)
  if (scores.length !== inputs.length) {
    throw new Error(`the detector returned ${scores.length} scores for ${inputs.length} readings (AnomalyDetector.scoreBatch must answer one per input)`)
  }
  let text = ''
  for (let i = 0; i < chunk.length; i++) {
    const row = chunk[i] as SeriesRow
    const score = scores[i] as number
    if (Number.isFinite(score)) summary.scored++
    text += `${row.timestampText},${row.valueText},${Number.isFinite(score) ? score : 0}\n`
  }
  summary.written += chunk.length
  await sink.write(text)
}
