import { crc32 } from 'node:zlib'
import { Compressor } from 'zstd-napi'
import binding from 'zstd-napi/binding.js'
import { CloudosError } from '../errors.js'
import { readFrameHeader } from '../zstd/frame-header.js'
import { corrupt } from './byte-io.js'

/**
 * The 24-byte header around the body (docs/formats/batch.md, "Header"), zstd
 * via zstd-napi, and CRC-32 via node:zlib. Only the framing is ours.
 */

export const BATCH_MAGIC = Uint8Array.of(0x43, 0x4c, 0x54, 0x42) // "CLTB"
export const BATCH_FORMAT_VERSION = 1
export const HEADER_BYTES = 24
export const FLAG_ZSTD = 0x01
export const DEFAULT_ZSTD_LEVEL = 9
const MAX_U32 = 0xffff_ffff

export interface EnvelopeOptions {
  level: number
  dictionary: { id: number; bytes: Uint8Array } | undefined
}

const compressors = new Map<number, Compressor>()
const dictionaryCompressors = new WeakMap<Uint8Array, Map<number, Compressor>>()

function compressorFor(level: number, dictionary: Uint8Array | undefined): Compressor {
  const cache = dictionary === undefined ? compressors : (dictionaryCompressors.get(dictionary) ?? new Map<number, Compressor>())
  if (dictionary !== undefined) dictionaryCompressors.set(dictionary, cache)
  let compressor = cache.get(level)
  if (compressor === undefined) {
    compressor = new Compressor()
    // Our header carries the size, the dictionary id and a CRC: zstd need not repeat them.
    compressor.setParameters({ compressionLevel: level, contentSizeFlag: false, checksumFlag: false, dictIDFlag: false })
    if (dictionary !== undefined) compressor.loadDictionary(dictionary)
    cache.set(level, compressor)
  }
  return compressor
}

/** Wraps a body: compresses it when that saves bytes, and writes the header. */
export function sealBody(body: Uint8Array, options: EnvelopeOptions): Buffer {
  if (body.length > MAX_U32) throw new CloudosError('BATCH_ERR_INVALID_BATCH', 'telemetry batch body exceeds 4 GiB: cut smaller batches')
  const compressed = compressorFor(options.level, options.dictionary?.bytes).compress(body)
  const useZstd = compressed.length < body.length
  const payload = useZstd ? compressed : body
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.set(BATCH_MAGIC, 0)
  out[4] = BATCH_FORMAT_VERSION
  out[5] = useZstd ? FLAG_ZSTD : 0
  out.writeUInt16LE(0, 6)
  out.writeUInt32LE(useZstd && options.dictionary !== undefined ? options.dictionary.id : 0, 8)
  out.writeUInt32LE(body.length, 12)
  out.writeUInt32LE(payload.length, 16)
  out.writeUInt32LE(checksum(out, body), 20)
  out.set(payload, HEADER_BYTES)
  return out
}

/** CRC-32 (ISO-HDLC, as zlib) of header bytes 0..19 followed by the body. */
function checksum(header: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(header.subarray(0, 20)))
}

export interface OpenLimits {
  maxDecompressedBytes: number
  dictionaries: Map<number, Uint8Array> | undefined
}

/** Checks the header, inflates the payload within the limits and verifies the CRC; returns the body. */
export function openBody(bytes: Uint8Array, limits: OpenLimits): Uint8Array {
  const magicBytes = Math.min(bytes.length, 4)
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== BATCH_MAGIC[i]) throw corrupt('it does not start with the magic "CLTB"')
  }
  if (bytes.length < 5) throw truncated(`${bytes.length} bytes, the header alone is ${HEADER_BYTES}`)
  const version = bytes[4] as number
  if (version !== BATCH_FORMAT_VERSION) {
    throw new CloudosError('BATCH_ERR_UNKNOWN_VERSION', `telemetry batch format version ${version} is not supported (this build reads version ${BATCH_FORMAT_VERSION})`, { version })
  }
  if (bytes.length < HEADER_BYTES) throw truncated(`${bytes.length} bytes, the header alone is ${HEADER_BYTES}`)
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  const flags = header[5] as number
  if ((flags & ~FLAG_ZSTD) !== 0) throw corrupt(`reserved flag bits are set (0x${flags.toString(16)})`)
  if (header.readUInt16LE(6) !== 0) throw corrupt('the reserved header field is not zero')
  const dictionaryId = header.readUInt32LE(8)
  const bodyLength = header.readUInt32LE(12)
  const payloadLength = header.readUInt32LE(16)
  const expectedChecksum = header.readUInt32LE(20)
  if (bodyLength > limits.maxDecompressedBytes) {
    throw new CloudosError(
      'BATCH_ERR_TOO_LARGE',
      `telemetry batch declares a ${bodyLength}-byte body, above the ${limits.maxDecompressedBytes}-byte limit`,
      { bodyLength, maxDecompressedBytes: limits.maxDecompressedBytes },
    )
  }
  const available = bytes.length - HEADER_BYTES
  if (payloadLength > available) throw truncated(`the header declares a ${payloadLength}-byte payload, ${available} bytes follow it`)
  if (payloadLength < available) throw corrupt(`${available - payloadLength} bytes follow the declared payload`)
  const payload = bytes.subarray(HEADER_BYTES)
  let body: Uint8Array
  if ((flags & FLAG_ZSTD) === 0) {
    if (dictionaryId !== 0) throw corrupt('a dictionary id is set on an uncompressed body')
    if (payloadLength !== bodyLength) throw corrupt('an uncompressed payload differs from the declared body length')
    body = payload
  } else {
    body = inflate(payload, bodyLength, dictionaryId, limits.dictionaries)
  }
  if (checksum(header, body) !== expectedChecksum) {
    throw new CloudosError('BATCH_ERR_CHECKSUM', 'telemetry batch CRC-32 does not match: it was altered in transit or storage')
  }
  return body
}

const decompressionContext = new binding.DCtx()
const preparedDictionaries = new WeakMap<Uint8Array, InstanceType<typeof binding.DDict>>()

/**
 * Single-shot decompression into a buffer of exactly the declared size: zstd
 * stops with "destination buffer too small" rather than write past it, so a
 * lying header cannot make us allocate more than the limit allows, and the
 * one-shot API decodes straight into that buffer without a window buffer
 * (so the frame's window size does not matter here).
 */
function inflate(payload: Uint8Array, bodyLength: number, dictionaryId: number, dictionaries: Map<number, Uint8Array> | undefined): Uint8Array {
  checkSingleFrame(payload, bodyLength)
  let dictionary: InstanceType<typeof binding.DDict> | undefined
  if (dictionaryId !== 0) {
    const bytes = dictionaries?.get(dictionaryId)
    if (bytes === undefined) {
      throw new CloudosError('BATCH_ERR_UNKNOWN_DICTIONARY', `telemetry batch needs zstd dictionary ${dictionaryId}, which the receiver does not have`, { dictionaryId })
    }
    dictionary = preparedDictionaries.get(bytes)
    if (dictionary === undefined) {
      dictionary = new binding.DDict(bytes)
      preparedDictionaries.set(bytes, dictionary)
    }
  }
  const body = new Uint8Array(bodyLength)
  let produced: number
  try {
    produced =
      dictionary === undefined
        ? decompressionContext.decompress(body, payload)
        : decompressionContext.decompressUsingDDict(body, payload, dictionary)
  } catch (err) {
    throw corrupt(`the zstd payload does not decompress to the declared ${bodyLength} bytes (${(err as Error).message})`)
  }
  if (produced !== bodyLength) throw corrupt(`the zstd payload decompresses to ${produced} bytes, the header declares ${bodyLength}`)
  return body
}

/**
 * Before anything is allocated: the payload is exactly one Zstandard frame
 * (docs/formats/batch.md; found by walking its block headers, RFC 8878
 * section 3.1.1.2, without decompressing), and a content size the frame
 * declares (section 3.1.1.1.4) is the header's body length. A second frame,
 * a skippable frame or bytes after the frame are refused, as is a frame that
 * announces more (or less) than the body.
 */
function checkSingleFrame(payload: Uint8Array, bodyLength: number): void {
  const header = readFrameHeader(payload)
  if (header.kind !== 'frame') {
    throw corrupt(header.kind === 'invalid' ? `the payload is ${header.reason}` : header.kind === 'skippable' ? 'the payload starts with a skippable frame' : 'the zstd frame header is cut short')
  }
  if (header.contentBytes !== null && header.contentBytes !== bodyLength) {
    throw corrupt(`the zstd frame declares ${header.contentBytes} bytes of content, the header ${bodyLength}; refused before inflating`)
  }
  let frameBytes: number
  try {
    frameBytes = binding.findFrameCompressedSize(payload)
  } catch (err) {
    throw corrupt(`the zstd frame is malformed (${(err as Error).message})`)
  }
  if (frameBytes !== payload.length) throw corrupt(`${payload.length - frameBytes} bytes follow the zstd frame (one frame per batch)`)
}

function truncated(message: string): CloudosError {
  return new CloudosError('BATCH_ERR_TRUNCATED', `telemetry batch is truncated: ${message}`)
}
