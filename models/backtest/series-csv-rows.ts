import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseCsvTimestamp } from '../../shared/simulator/replay-csv.js'
import { DetectError } from './detect-error.js'

/** One data row of a `timestamp,value` CSV. */
export interface SeriesRow {
  /** 1-based line number in the file. */
  line: number
  /** The timestamp as written, echoed to the output unchanged. */
  timestampText: string
  ts: number
  /** The value as written. */
  valueText: string
  /** NaN when the value is missing or not a finite number (the row is then skipped, like the edge dead-letters it). */
  value: number
}

// Plain decimal numbers only: Number() would also accept '', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
// Epoch milliseconds, as sensors publish them (an integer, optionally with a fraction).
const EPOCH_MS = /^\d{1,16}(?:\.\d+)?$/

/** Parses a CSV timestamp: `YYYY-MM-DD HH:MM:SS` (UTC unless zoned, also ISO 8601) or epoch ms. Undefined if neither. */
export function parseRowTimestamp(text: string): number | undefined {
  if (EPOCH_MS.test(text)) return Math.round(Number(text))
  return parseCsvTimestamp(text)
}

/**
 * Streams the rows of a `timestamp,value` CSV (NAB's layout) line by line,
 * so a file of any size is read in constant memory. The header must name
 * `timestamp,value` first; further columns are ignored.
 *
 * A row that is not `timestamp,value` at all (field count, unreadable
 * timestamp) stops the read with DETECT_ERR_CSV_FORMAT naming the line: the
 * file is not what we think it is. A row whose value is missing or not a
 * finite number is yielded with `value` NaN for the caller to skip and count.
 */
export async function* readSeriesCsv(path: string): AsyncGenerator<SeriesRow> {
  const stream = createReadStream(path, { encoding: 'utf8' })
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve())
    stream.once('error', (err) => reject(new DetectError('DETECT_ERR_INPUT_UNREADABLE', `cannot read ${path}: ${err.message}`, { file: path })))
  })
  await opened
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  let line = 0
  let columns = 0
  try {
    for await (const raw of lines) {
      line++
      const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw
      if (text.trim() === '') continue
      const fields = text.split(',').map(unquote)
      if (columns === 0) {
        if (fields.length < 2 || fields[0]?.toLowerCase() !== 'timestamp' || fields[1]?.toLowerCase() !== 'value') {
          throw formatError(path, line, `expected the header "timestamp,value", got ${JSON.stringify(text.slice(0, 80))}`)
        }
        columns = fields.length
        continue
      }
      if (fields.length !== columns) throw formatError(path, line, `expected ${columns} fields like the header, got ${fields.length}`)
      const [timestampText, valueText] = fields as [string, string]
      const ts = parseRowTimestamp(timestampText)
      if (ts === undefined) throw formatError(path, line, `timestamp ${JSON.stringify(timestampText)} is neither a date-time like 2014-04-01 00:00:00 nor epoch milliseconds`)
      const value = DECIMAL.test(valueText) ? Number(valueText) : NaN
      yield { line, timestampText, ts, valueText, value: Number.isFinite(value) ? value : NaN }
    }
  } catch (err) {
    if (err instanceof DetectError) throw err
    throw new DetectError('DETECT_ERR_INPUT_UNREADABLE', `cannot read ${path} (line ${line}): ${(err as Error).message}`, { file: path, line })
  } finally {
    lines.close()
    stream.destroy()
  }
  if (columns === 0) throw formatError(path, line, 'the file is empty (expected the header "timestamp,value")')
}

function formatError(file: string, line: number, reason: string): DetectError {
  return new DetectError('DETECT_ERR_CSV_FORMAT', `${file}:${line}: ${reason}`, { file, line })
}

function unquote(field: string): string {
  const trimmed = field.trim()
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed
}
