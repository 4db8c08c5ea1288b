import { readFile } from 'node:fs/promises'
import type { TelemetryReading } from '../telemetry.js'
import { SimulatorError } from './simulator-errors.js'

/**
 * Reading `timestamp,value` CSV files (the NAB layout) for replay. Every row
 * is checked before anything is published, so a bad line stops the replay
 * with its file and line number instead of leaving half a series behind.
 */

const EXPECTED_HEADER = ['timestamp', 'value'] as const
// `2014-04-01 00:00:00`, also with a `T`, fractional seconds and a zone.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/
// Plain decimal numbers only: Number() would also accept '', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** Parses a CSV timestamp to epoch ms; a timestamp without a zone is UTC. Undefined if invalid. */
export function parseCsvTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined
  const millis = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000)
  // Date.UTC rolls 31 April over into 1 May; a real calendar day maps back to itself.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - zoneOffsetMs(m[8])
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0
  const digits = zone.replace(':', '')
  const sign = digits.startsWith('-') ? -1 : 1
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000
}

/** Collects rows line by line; `finish` returns them in file order. */
export class ReplayCsvParser {
  readonly #file: string
  readonly #rows: TelemetryReading[] = []
  #lineNumber = 0
  #sawHeader = false

  constructor(file: string) {
    this.#file = file
  }

  pushLine(rawLine: string): void {
    this.#lineNumber++
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (this.#lineNumber === 1 && line.startsWith('\uFEFF')) line = line.slice(1)
    if (line.trim() === '') return
    const fields = line.split(',').map(unquote)
    if (!this.#sawHeader) {
      const header = fields.map((f) => f.toLowerCase())
      if (header.length !== 2 || header[0] !== EXPECTED_HEADER[0] || header[1] !== EXPECTED_HEADER[1]) {
        this.#fail(`expected the header "timestamp,value", got ${JSON.stringify(line.slice(0, 80))}`)
      }
      this.#sawHeader = true
      return
    }
    if (fields.length !== 2) this.#fail(`expected 2 fields (timestamp,value), got ${fields.length}`)
    const [tsText, valueText] = fields as [string, string]
    const ts = parseCsvTimestamp(tsText)
    if (ts === undefined) this.#fail(`timestamp ${JSON.stringify(tsText)} is not a date-time like 2014-04-01 00:00:00`)
    const value = Number(valueText)
    if (!DECIMAL.test(valueText) || !Number.isFinite(value)) this.#fail(`value ${JSON.stringify(valueText)} is not a finite number`)
    this.#rows.push({ ts, value })
  }

  finish(): TelemetryReading[] {
    if (!this.#sawHeader) this.#fail('the file is empty (expected the header "timestamp,value")')
    if (this.#rows.length === 0) this.#fail('the file has a header but no data rows')
    return this.#rows
  }

  #fail(reason: string): never {
    throw new SimulatorError('SIM_ERR_CSV_FORMAT', `${this.#file}:${this.#lineNumber}: ${reason}`, {
      file: this.#file,
      line: this.#lineNumber,
    })
  }
}

function unquote(field: string): string {
  const trimmed = field.trim()
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed
}

export function parseReplayCsv(text: string, file: string): TelemetryReading[] {
  const parser = new ReplayCsvParser(file)
  for (const line of text.split('\n')) parser.pushLine(line)
  return parser.finish()
}

/**
 * Reads and validates a whole replay file. Whole-file rather than streamed:
 * rows must all be valid before the first is published, and the shifted
 * timestamps depend on the last row (NAB files are under 200 kB).
 */
export async function readReplayCsv(path: string): Promise<TelemetryReading[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new SimulatorError('SIM_ERR_CSV_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { file: path })
  }
  return parseReplayCsv(text, path)
}
