/**
 * A byte-level scanner for the two common telemetry payload forms,
 * `{"ts":<int>,"value":<num>}` and `{"readings":[{"ts":..,"value":..},...]}`,
 * that fills two preallocated columns without building JS objects.
 *
 * Why by hand: JSON.parse allocates an object per reading plus the decoded
 * string; on 100-reading batches that alone kept ingest under the 1M
 * readings/s target on this class of machine in a one-off micro-benchmark
 * while designing (`cloudos bench ingest` shows the end-to-end result). The scanner accepts a
 * strict subset of JSON: plain ASCII keys "ts"/"value"/"readings" without
 * escapes, each at most once per object, numbers, and whitespace. Anything
 * else (other keys, strings, nulls, escapes, duplicates, deep nesting) makes it
 * give up, and the caller falls back to JSON.parse, which also produces the
 * detailed rejection messages. A property test checks both paths agree.
 */

const QUOTE = 0x22
const COMMA = 0x2c
const COLON = 0x3a
const LBRACE = 0x7b
const RBRACE = 0x7d
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const MINUS = 0x2d
const PLUS = 0x2b
const DOT = 0x2e
const ZERO = 0x30
const NINE = 0x39
const LOWER_E = 0x65
const UPPER_E = 0x45

/** Exactly representable powers of ten (10^0..10^22) for the exact fast path below. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i)
const MAX_EXACT_MANTISSA = 2 ** 53

/** The scanner's output columns; grown on demand and reused between messages. */
export class ScannedReadings {
  timestamps = new Float64Array(256)
  values = new Float64Array(256)
  /** 1 when the reading had a "ts" key, 0 when the receive time applies. */
  hasTs = new Uint8Array(256)
  count = 0

  reset(): void {
    this.count = 0
  }

  push(ts: number, hasTs: boolean, value: number): void {
    if (this.count === this.timestamps.length) this.#grow()
    this.timestamps[this.count] = ts
    this.values[this.count] = value
    this.hasTs[this.count] = hasTs ? 1 : 0
    this.count++
  }

  #grow(): void {
    const size = this.timestamps.length * 2
    const timestamps = new Float64Array(size)
    const values = new Float64Array(size)
    const hasTs = new Uint8Array(size)
    timestamps.set(this.timestamps)
    values.set(this.values)
    hasTs.set(this.hasTs)
    this.timestamps = timestamps
    this.values = values
    this.hasTs = hasTs
  }
}

/**
 * Scans `bytes` into `out`. Returns true when the payload was one of the two
 * forms and fully consumed; false means "use JSON.parse" (nothing is implied
 * about validity). At most `maxReadings` readings are scanned.
 */
export function scanTelemetry(bytes: Buffer, out: ScannedReadings, maxReadings: number): boolean {
  out.reset()
  const scanner = new Scanner(bytes)
  if (!scanner.expect(LBRACE)) return false
  const key = scanner.key()
  if (key === 'readings') {
    if (!scanner.expect(LBRACKET)) return false
    if (scanner.peek() === RBRACKET) return false // empty batch: let the slow path explain
    for (;;) {
      if (out.count >= maxReadings) return false
      if (!scanner.expect(LBRACE) || !scanReadingBody(scanner, out, scanner.key())) return false
      const next = scanner.next()
      if (next === RBRACKET) break
      if (next !== COMMA) return false
    }
    return scanner.expect(RBRACE) && scanner.atEnd()
  }
  return scanReadingBody(scanner, out, key) && scanner.atEnd()
}

/** Scans the rest of a reading object after `{`, starting with the already-read first key. */
function scanReadingBody(scanner: Scanner, out: ScannedReadings, firstKey: string | undefined): boolean {
  let ts = 0
  let value = 0
  let seenTs = false
  let seenValue = false
  let key = firstKey
  for (;;) {
    if (key === 'ts' && !seenTs) {
      ts = scanner.number()
      seenTs = true
    } else if (key === 'value' && !seenValue) {
      value = scanner.number()
      seenValue = true
    } else {
      return false
    }
    if (Number.isNaN(ts) || Number.isNaN(value)) return false
    const next = scanner.next()
    if (next === RBRACE) break
    if (next !== COMMA) return false
    key = scanner.key()
  }
  if (!seenValue) return false
  out.push(ts, seenTs, value)
  return true
}

class Scanner {
  readonly #bytes: Buffer
  #at = 0

  constructor(bytes: Buffer) {
    this.#bytes = bytes
  }

  #skipSpace(): void {
    const bytes = this.#bytes
    let at = this.#at
    while (at < bytes.length) {
      const c = bytes[at] as number
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break
      at++
    }
    this.#at = at
  }

  peek(): number {
    this.#skipSpace()
    return this.#at < this.#bytes.length ? (this.#bytes[this.#at] as number) : -1
  }

  next(): number {
    const c = this.peek()
    this.#at++
    return c
  }

  expect(c: number): boolean {
    return this.next() === c
  }

  atEnd(): boolean {
    this.#skipSpace()
    return this.#at === this.#bytes.length
  }

  /** Reads `"key":` and returns the key, only for the three keys we know. */
  key(): string | undefined {
    if (!this.expect(QUOTE)) return undefined
    const bytes = this.#bytes
    const start = this.#at
    let end = start
    while (end < bytes.length && bytes[end] !== QUOTE) end++
    this.#at = end + 1
    const length = end - start
    let key: string | undefined
    if (length === 2 && bytes[start] === 0x74 && bytes[start + 1] === 0x73) key = 'ts'
    else if (length === 5 && matches(bytes, start, 'value')) key = 'value'
    else if (length === 8 && matches(bytes, start, 'readings')) key = 'readings'
    if (key === undefined || !this.expect(COLON)) return undefined
    return key
  }

  /**
   * Reads a JSON number; NaN when the text is not one. Integers and plain
   * decimals with at most 15 significant digits are computed as
   * mantissa / 10^k, which is exact under IEEE-754 (both operands are exact
   * and division rounds correctly: Clinger's fast path); anything else goes
   * through Number() on the text, which is JSON's own number grammar.
   */
  number(): number {
    this.#skipSpace()
    const bytes = this.#bytes
    const start = this.#at
    let at = start
    let negative = false
    if (bytes[at] === MINUS) {
      negative = true
      at++
    }
    const intStart = at
    let mantissa = 0
    let digits = 0
    while (at < bytes.length && (bytes[at] as number) >= ZERO && (bytes[at] as number) <= NINE) {
      mantissa = mantissa * 10 + ((bytes[at] as number) - ZERO)
      at++
      digits++
    }
    if (digits === 0 || (bytes[intStart] === ZERO && digits > 1)) return Number.NaN // JSON forbids leading zeros
    let scale = 0
    if (bytes[at] === DOT) {
      at++
      const fracStart = at
      while (at < bytes.length && (bytes[at] as number) >= ZERO && (bytes[at] as number) <= NINE) {
        mantissa = mantissa * 10 + ((bytes[at] as number) - ZERO)
        at++
      }
      scale = at - fracStart
      if (scale === 0) return Number.NaN
      digits += scale
    }
    let slow = false
    if (bytes[at] === LOWER_E || bytes[at] === UPPER_E) {
      at++
      if (bytes[at] === PLUS || bytes[at] === MINUS) at++
      const expStart = at
      while (at < bytes.length && (bytes[at] as number) >= ZERO && (bytes[at] as number) <= NINE) at++
      if (at === expStart) return Number.NaN
      slow = true
    }
    this.#at = at
    if (slow || digits > 15 || mantissa >= MAX_EXACT_MANTISSA || scale > 22) {
      return Number(bytes.toString('latin1', start, at))
    }
    const magnitude = scale === 0 ? mantissa : mantissa / (POWERS_OF_TEN[scale] as number)
    return negative ? -magnitude : magnitude
  }
}

function matches(bytes: Buffer, start: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false
  return true
}
