import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar, { type ExtractEvents, type Header } from 'tar-stream'
import { CloudosError, isCloudosError } from '../errors.js'
import { BoundedDecompressor } from '../zstd/bounded-decompressor.js'

/** Entry names inside a bundle (docs/formats/ota.md). */
export const MANIFEST_ENTRY = 'manifest.json'
export const SIGNATURE_ENTRY = 'manifest.sig'
export const PAYLOAD_PREFIX = 'payload/'
/** PAX header key on every payload entry naming the bundle it belongs to. */
export const BUNDLE_ID_PAX_KEY = 'CLOUDOS.bundleId'

/**
 * Passes the compressed bytes through, counting (and hashing) them, and
 * fails with OTA_ERR_BUNDLE_TOO_LARGE as soon as the count exceeds `limit`:
 * reading stops there, whatever the source would still send (endless data).
 * The decompressed side is bounded by BoundedDecompressor.
 */
export class ByteLimit extends Transform {
  count = 0
  readonly #hash: Hash | undefined

  constructor(
    public limit: number,
    readonly what: string,
    hash = false,
  ) {
    super()
    this.#hash = hash ? createHash('sha256') : undefined
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length
    if (this.count > this.limit) {
      callback(new CloudosError('OTA_ERR_BUNDLE_TOO_LARGE', `${this.what} exceeds ${this.limit} bytes; reading stopped there`, { limit: this.limit }))
      return
    }
    this.#hash?.update(chunk)
    callback(null, chunk)
  }

  digest(): string {
    return this.#hash?.digest('hex') ?? ''
  }
}

export interface OpenedBundle {
  entries: AsyncIterator<TarEntry>
  /** Compressed bytes read so far and their sha256 (at the end: the whole file). */
  compressed: ByteLimit
  /** Decompressed tar bytes read so far; `tighten()` sets the final bound once the manifest is known. */
  tarBytes: BoundedDecompressor
  /** Settles when the whole pipeline has finished (or failed). */
  finished: Promise<void>
  /** Stops reading (early exit). */
  close(): void
}

/**
 * Opens a bundle for streaming: file -> byte limit -> bounded zstd -> tar
 * entries. Nothing is buffered whole: zstd writes into one 128 KiB window at
 * a time, pulled by the tar reader, and stops as soon as `maxTarBytes` (the
 * head's limit, until the manifest sets the final one) is passed; a frame
 * asking for a window over 8 MiB is refused before it is inflated.
 */
export function openBundle(bundlePath: string, maxCompressedBytes: number, maxTarBytes: number): OpenedBundle {
  const source = createReadStream(bundlePath)
  const compressed = new ByteLimit(maxCompressedBytes, 'the bundle file', true)
  const tarBytes = new BoundedDecompressor({
    maxOutputBytes: maxTarBytes,
    provisionalLimit: true,
    what: 'the decompressed bundle',
    codes: { tooLarge: 'OTA_ERR_BUNDLE_TOO_LARGE', windowTooLarge: 'OTA_ERR_ZSTD_WINDOW_TOO_LARGE', unreadable: 'OTA_ERR_BUNDLE_UNREADABLE' },
  })
  const extract = tar.extract()
  const finished = pipeline(source, compressed, tarBytes.decompress, extract)
  finished.catch(() => undefined)
  return {
    entries: extract[Symbol.asyncIterator](),
    compressed,
    tarBytes,
    finished,
    close: () => source.destroy(),
  }
}

/**
 * Most bytes of metadata one entry may carry (name, link name, pax records).
 * An honest entry needs a path of at most 1,024 bytes and one pax record.
 */
export const MAX_ENTRY_METADATA_BYTES = 64 * 1024
/**
 * tar-stream (3.x) buffers a pax or GNU long-name header whole before the
 * entry it describes, and refuses one over its own 4 MiB cap with this
 * message: that cap bounds the memory, our limit above gives the code.
 */
const TAR_STREAM_HEADER_CAP_MESSAGE = 'Header exceeds max size'

/** Maps a stream failure to a coded error: limits keep theirs, the rest is an unreadable bundle. */
export function bundleReadError(err: unknown, bundlePath: string): CloudosError {
  if (isCloudosError(err)) return err
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ENOENT') return new CloudosError('OTA_ERR_BUNDLE_UNREADABLE', `${bundlePath}: no such file`)
  if (e.message === TAR_STREAM_HEADER_CAP_MESSAGE) {
    return new CloudosError('OTA_ERR_TAR_HEADER_TOO_LARGE', `${bundlePath}: a tar entry's extended header is over 4 MiB; reading stopped before it`, { limit: MAX_ENTRY_METADATA_BYTES })
  }
  return new CloudosError('OTA_ERR_BUNDLE_UNREADABLE', `${bundlePath}: ${e.message} (not a zstd-compressed tar, or truncated)`)
}

/** The next entry, its metadata within bounds; a pipeline failure surfaces as its coded error. */
export async function nextEntry(opened: OpenedBundle, bundlePath: string): Promise<TarEntry | undefined> {
  let entry: TarEntry | undefined
  try {
    const next = await opened.entries.next()
    entry = next.done === true ? undefined : next.value
  } catch (err) {
    throw bundleReadError(await pipelineError(opened, err), bundlePath)
  }
  if (entry !== undefined) {
    const metadataBytes = entryMetadataBytes(entry.header as TarHeader)
    if (metadataBytes > MAX_ENTRY_METADATA_BYTES) {
      entry.resume()
      throw new CloudosError('OTA_ERR_TAR_HEADER_TOO_LARGE', `a tar entry carries ${metadataBytes} bytes of name and extended header, more than the ${MAX_ENTRY_METADATA_BYTES} allowed`, {
        bytes: metadataBytes,
        limit: MAX_ENTRY_METADATA_BYTES,
      })
    }
  }
  return entry
}

/** Name, link name and pax records of an entry, in bytes. */
function entryMetadataBytes(header: TarHeader): number {
  let bytes = Buffer.byteLength(header.name) + Buffer.byteLength(header.linkname ?? '')
  for (const [key, value] of Object.entries(header.pax ?? {})) bytes += Buffer.byteLength(key) + Buffer.byteLength(value)
  return bytes
}

/** The pipeline's own error explains an iteration failure best (a limit, zstd). */
export async function pipelineError(opened: OpenedBundle, fallback: unknown): Promise<unknown> {
  if (isCloudosError(fallback)) return fallback
  const timeout = new Promise<unknown>((resolve) => setTimeout(() => resolve(undefined), 50).unref())
  const failure = await Promise.race([opened.finished.then(() => undefined, (err: unknown) => err), timeout])
  return failure ?? fallback
}

/** Reads an entry whole, refusing more than `limit` bytes (manifest, signature). */
export async function readSmallEntry(entry: TarEntry, limit: number, code: 'OTA_ERR_MANIFEST_INVALID' | 'OTA_ERR_UNSIGNED'): Promise<string> {
  if ((entry.header.size ?? 0) > limit) {
    entry.resume()
    throw new CloudosError(code, `${entry.header.name} is ${entry.header.size} bytes, more than the ${limit} allowed`)
  }
  const chunks: Buffer[] = []
  for await (const chunk of entry) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A tar entry being read (tar-stream's entry stream). */
export type TarEntry = ExtractEvents['entry'][1]
/** A tar header; payload entries carry PAX records. */
export type TarHeader = Header & { pax?: Record<string, string> | null }
