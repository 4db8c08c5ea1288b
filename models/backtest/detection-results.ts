import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { NabError } from '../nab/nab-error.js'
import { parseRowTimestamp } from './series-csv-rows.js'

/** A detector's output for one file: a timestamp and an anomaly score per row. */
export interface DetectionResults {
  timestamps: Float64Array
  /** NaN where the cell is empty. */
  scores: Float64Array
}

/**
 * Reads a results CSV: what `cloudos detect` writes (`timestamp,value,anomaly_score`)
 * or a NAB results file (more columns; `timestamp` and `anomaly_score` are
 * found by name).
 */
export async function readDetectionResults(path: string): Promise<DetectionResults> {
  const timestamps: number[] = []
  const scores: number[] = []
  let line = 0
  let tsColumn = -1
  let scoreColumn = -1
  const fail = (reason: string): NabError => new NabError('NAB_ERR_RESULTS', `${path}:${line}: ${reason}`, { file: path, line })
  try {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity })
    for await (const raw of lines) {
      line++
      const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw
      if (text.trim() === '') continue
      const fields = text.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'))
      if (tsColumn < 0) {
        tsColumn = fields.indexOf('timestamp')
        scoreColumn = fields.indexOf('anomaly_score')
        if (tsColumn < 0 || scoreColumn < 0) throw fail(`expected a header with "timestamp" and "anomaly_score" columns, got ${JSON.stringify(text.slice(0, 80))}`)
        continue
      }
      const ts = parseRowTimestamp(fields[tsColumn] ?? '')
      if (ts === undefined) throw fail(`timestamp ${JSON.stringify(fields[tsColumn])} is not a date-time or epoch milliseconds`)
      const scoreText = fields[scoreColumn] ?? ''
      const score = scoreText === '' ? NaN : Number(scoreText)
      if (scoreText !== '' && !Number.isFinite(score)) throw fail(`anomaly_score ${JSON.stringify(scoreText)} is not a number`)
      timestamps.push(ts)
      scores.push(score)
    }
  } catch (err) {
    if (err instanceof NabError) throw err
    throw new NabError('NAB_ERR_RESULTS', `cannot read ${path}: ${(err as Error).message}`, { file: path })
  }
  if (tsColumn < 0) throw fail('the file is empty (expected a header with "timestamp" and "anomaly_score")')
  return { timestamps: Float64Array.from(timestamps), scores: Float64Array.from(scores) }
}
