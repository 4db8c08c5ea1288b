import binding from 'zstd-napi/binding.js'
import { CloudosError, type ErrorCode } from '../errors.js'
import { MAX_FRAME_HEADER_BYTES, readFrameHeader } from './frame-header.js'

/**
 * Streaming zstd decompression that never holds more than one output window.
 *
 * zstd-napi's DecompressStream loops over a whole input chunk and pushes all
 * of its output whatever the reader's backpressure (measured: a 32 KB bundle,
 * 1.13 GiB of RSS before a byte limit behind it could act). Here the low-level
 * ZSTD_decompressStream (zstd-napi's `binding.DCtx.decompressStream`) writes
 * into a fixed 128 KiB buffer (ZSTD_DStreamOutSize); each filled window is
 * handed on only when the next stage asks for more (an async generator in a
 * stream pipeline is pulled, never pushed), bytes are counted as they come
 * out, and the stream fails as soon as the count passes the limit. Before a
 * frame is inflated its header is read: a window above `maxWindowBytes`, or a
 * declared content size above what the limit still allows, is refused
 * without decompressing anything.
 */
export interface BoundedDecompressorOptions {
  /** Most decompressed bytes; the stream fails as soon as the count passes it. */
  maxOutputBytes: number
  /**
   * `maxOutputBytes` is only provisional (a head limit, until a manifest says
   * what the whole stream holds): frames' declared content sizes are checked
   * once `tighten()` sets the final bound. Default false: checked from the start.
   */
  provisionalLimit?: boolean
  /** Largest Window_Size a frame may ask for. Default {@link DEFAULT_MAX_WINDOW_BYTES}. */
  maxWindowBytes?: number
  /** What is being decompressed, for messages ("the decompressed bundle"). */
  what: string
  codes: { tooLarge: ErrorCode; windowTooLarge: ErrorCode; unreadable: ErrorCode }
}

/**
 * 8 MiB: RFC 8878 section 3.1.1.1.2 recommends decoders support windows of
 * at least 8 MB, and zstd levels 1-19 stay within it (level 19: 8 MiB; 9: 4 MiB).
 * Frames from `--long` or `--ultra` levels ask for up to 2 GiB and are refused.
 */
export const DEFAULT_MAX_WINDOW_BYTES = 8 * 1024 * 1024
const OUTPUT_WINDOW_BYTES = binding.dStreamOutSize()
/** A chunk that fills less than this share of the window is copied out, so the window can be reused and a small chunk never pins 128 KiB. */
const COPY_BELOW = OUTPUT_WINDOW_BYTES / 4
/** Compressed bytes held back while waiting for the rest of a frame header or a stalled decoder: a few headers' worth. */
const MAX_CARRIED_BYTES = 64 * 1024

export class BoundedDecompressor {
  /** Decompressed bytes produced so far. */
  count = 0
  #limit: number
  #limitFinal: boolean
  /** Output count where the frame being read started, and the content size it declared. */
  #frameStart = 0
  #frameContentBytes: number | null = null
  readonly #maxWindowBytes: number
  readonly #options: BoundedDecompressorOptions

  constructor(options: BoundedDecompressorOptions) {
    this.#options = options
    this.#limit = options.maxOutputBytes
    this.#limitFinal = options.provisionalLimit !== true
    this.#maxWindowBytes = options.maxWindowBytes ?? DEFAULT_MAX_WINDOW_BYTES
  }

  get limit(): number {
    return this.#limit
  }

  /**
   * Sets the final bound (e.g. what a verified manifest declares). The frame
   * being read is refused at once if its declared content size goes past it,
   * as is every later frame that declares more than what is left.
   */
  tighten(limit: number): void {
    this.#limit = limit
    this.#limitFinal = true
    this.#checkDeclaredContent()
  }

  /** The pipeline stage: compressed chunks in, decompressed chunks out, one window at a time. */
  readonly decompress = (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> => this.#run(source)

  async *#run(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const context = new binding.DCtx()
    // Backstop for our own header check: zstd refuses a larger window itself.
    context.setParameter(binding.DParameter.windowLogMax, Math.max(10, Math.floor(Math.log2(this.#maxWindowBytes))))
    let window = Buffer.allocUnsafe(OUTPUT_WINDOW_BYTES)
    let atFrameStart = true
    let carried: Buffer | null = null
    for await (const chunk of source) {
      if (carried !== null && carried.length > MAX_CARRIED_BYTES) {
        throw new CloudosError(this.#options.codes.unreadable, `${this.#options.what}: the zstd decoder made no progress over ${carried.length} bytes`)
      }
      let input: Buffer = carried === null ? chunk : Buffer.concat([carried, chunk])
      carried = null
      for (;;) {
        if (atFrameStart) {
          if (input.length === 0) break
          if (!this.#enterFrame(input)) {
            carried = Buffer.from(input)
            break
          }
          atFrameStart = false
        }
        let result: [number, number, number]
        try {
          result = context.decompressStream(window, input)
        } catch (err) {
          throw this.#zstdError(err)
        }
        const [remaining, produced, consumed] = result
        input = input.subarray(consumed)
        if (produced > 0) {
          this.count += produced
          if (this.count > this.#limit) throw this.#tooLarge(`${this.#options.what} exceeds ${this.#limit} bytes; decompression stopped there`)
          if (produced < COPY_BELOW) {
            yield Buffer.from(window.subarray(0, produced))
          } else {
            yield window.subarray(0, produced)
            window = Buffer.allocUnsafe(OUTPUT_WINDOW_BYTES)
          }
        }
        // 0: the frame is decoded and flushed; the next byte starts a frame.
        if (remaining === 0) atFrameStart = true
        const outputFull = produced === OUTPUT_WINDOW_BYTES
        if (!outputFull && (input.length === 0 || (produced === 0 && consumed === 0))) {
          if (input.length > 0) carried = Buffer.from(input)
          break
        }
      }
    }
    if (carried !== null || !atFrameStart) {
      throw new CloudosError(this.#options.codes.unreadable, `${this.#options.what} ends in the middle of a zstd frame (truncated)`)
    }
  }

  /** Reads and checks the header of the frame starting at `input`; false when more bytes are needed. */
  #enterFrame(input: Buffer): boolean {
    const header = readFrameHeader(input.subarray(0, MAX_FRAME_HEADER_BYTES))
    if (header.kind === 'incomplete') return false
    if (header.kind === 'invalid') throw new CloudosError(this.#options.codes.unreadable, `${this.#options.what}: ${header.reason}`)
    this.#frameStart = this.count
    this.#frameContentBytes = null
    if (header.kind === 'skippable') return true
    if (header.windowBytes > this.#maxWindowBytes) {
      throw new CloudosError(
        this.#options.codes.windowTooLarge,
        `${this.#options.what}: a zstd frame asks for a ${header.windowBytes}-byte window, more than the ${this.#maxWindowBytes} allowed (compress with a level up to 19, without --long)`,
        { windowBytes: header.windowBytes, maxWindowBytes: this.#maxWindowBytes },
      )
    }
    this.#frameContentBytes = header.contentBytes
    this.#checkDeclaredContent()
    return true
  }

  #checkDeclaredContent(): void {
    if (!this.#limitFinal || this.#frameContentBytes === null) return
    const allowed = this.#limit - this.#frameStart
    if (this.#frameContentBytes > allowed) {
      throw this.#tooLarge(`${this.#options.what}: a zstd frame declares ${this.#frameContentBytes} bytes of content, more than the ${allowed} still allowed; refused before inflating it`)
    }
  }

  #tooLarge(message: string): CloudosError {
    return new CloudosError(this.#options.codes.tooLarge, message, { limit: this.#limit })
  }

  #zstdError(err: unknown): CloudosError {
    const message = (err as Error).message
    // ZSTD_error_frameParameter_windowTooLarge, should our header check ever miss one.
    if (/too much memory/i.test(message)) return new CloudosError(this.#options.codes.windowTooLarge, `${this.#options.what}: zstd refused the frame: ${message}`)
    return new CloudosError(this.#options.codes.unreadable, `${this.#options.what}: not valid zstd data (${message})`)
  }
}
