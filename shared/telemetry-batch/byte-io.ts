import { CloudosError } from '../errors.js'

/**
 * Byte writer/reader with LEB128 varints over JS numbers up to
 * 2^53-1. Hand-written because the codec needs varints and zig-zag on plain
 * numbers at a few hundred MB/s; Node's Buffer has neither, and the npm
 * varint packages allocate per value or stop at 2^31.
 */

/** Zig-zag maps signed integers to unsigned ones: 0,-1,1,-2,2 -> 0,1,2,3,4. Exact for |n| < 2^52. */
export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2
}

/** Bytes of the LEB128 form of value. */
export function varintSize(value: number): number {
  let size = 1
  while (value >= 128) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

export class ByteWriter {
  private buf: Uint8Array
  length = 0

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity))
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra
    if (needed <= this.buf.length) return
    let capacity = this.buf.length * 2
    while (capacity < needed) capacity *= 2
    const next = new Uint8Array(capacity)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  u8(value: number): void {
    this.reserve(1)
    this.buf[this.length++] = value
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length)
    this.buf.set(data, this.length)
    this.length += data.length
  }

  /** Unsigned LEB128: 7 bits per byte, low group first, high bit set on all but the last byte. */
  uvarint(value: number): void {
    this.reserve(8)
    const buf = this.buf
    let pos = this.length
    if (value < 0x8000_0000) {
      while (value >= 0x80) {
        buf[pos++] = (value & 0x7f) | 0x80
        value >>>= 7
      }
    } else {
      while (value >= 0x80) {
        buf[pos++] = (value % 128) | 0x80
        value = Math.floor(value / 128)
      }
    }
    buf[pos++] = value
    this.length = pos
  }

  /** Zig-zag then LEB128. */
  svarint(value: number): void {
    this.uvarint(zigzag(value))
  }

  /** The written bytes (a view, not a copy). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}

/** Reads what ByteWriter wrote; every overrun or malformed varint is BATCH_ERR_CORRUPT. */
export class ByteReader {
  pos: number

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start
  }

  get remaining(): number {
    return this.end - this.pos
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) throw corrupt(`${what} runs past the end of its section`)
  }

  /**
   * Reads a column frame (docs/formats/batch.md): a tag byte and a uvarint
   * length, then that many bytes, returned as a reader of their own so a
   * column can never read into the next one.
   */
  column(what: string): { tag: number; length: number; column: ByteReader } {
    const tag = this.u8()
    const length = this.uvarint()
    this.need(length, what)
    const column = new ByteReader(this.buf, this.pos, this.pos + length)
    this.pos += length
    return { tag, length, column }
  }

  u8(): number {
    this.need(1, 'a byte')
    return this.buf[this.pos++] as number
  }

  bytes(n: number): Uint8Array {
    this.need(n, 'a byte string')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** At most 8 bytes (56 bits); values above 2^53-1 or non-minimal encodings are refused. */
  uvarint(): number {
    const buf = this.buf
    let pos = this.pos
    const end = this.end
    let result = 0
    let shift = 1
    for (let i = 0; i < 8; i++) {
      if (pos >= end) throw corrupt('a varint runs past the end of its section')
      const byte = buf[pos++] as number
      result += (byte & 0x7f) * shift
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw corrupt('a varint has a redundant zero byte')
        if (result > Number.MAX_SAFE_INTEGER) throw corrupt('a varint exceeds 2^53-1')
        this.pos = pos
        return result
      }
      shift *= 128
    }
    throw corrupt('a varint is longer than 8 bytes')
  }

  svarint(): number {
    return unzigzag(this.uvarint())
  }
}

export function corrupt(message: string): CloudosError {
  return new CloudosError('BATCH_ERR_CORRUPT', `telemetry batch is corrupt: ${message}`)
}

