/**
 * Reads a Zstandard frame header (RFC 8878 section 3.1.1.1) without
 * decompressing anything, so a decoder can refuse a frame by what it
 * declares (its window, its content size) before it allocates or inflates.
 * zstd-napi exposes ZSTD_getFrameContentSize but not the window, hence this.
 */

/** Magic_Number of a Zstandard frame (section 3.1.1), little-endian. */
const FRAME_MAGIC = 0xfd2fb528
/** Skippable frames (section 3.1.2): magic 0x184D2A50..0x184D2A5F, then a 4-byte size, then that many bytes. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50
/** The longest frame header: magic 4 + descriptor 1 + window 1 + dictionary id 4 + content size 8. */
export const MAX_FRAME_HEADER_BYTES = 18

export type FrameHeader =
  /** Fewer bytes than the header needs: read more first. */
  | { kind: 'incomplete' }
  | { kind: 'skippable'; dataBytes: number }
  | {
      kind: 'frame'
      /** Window_Size (section 3.1.1.1.2): the history the decoder must keep; for a single-segment frame, the content size. */
      windowBytes: number
      /** Frame_Content_Size when the frame declares it, else null. */
      contentBytes: number | null
      dictionaryId: number
    }
  | { kind: 'invalid'; reason: string }

const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const
const CONTENT_SIZE_BYTES = [0, 2, 4, 8] as const

/** Parses the frame header at the start of `bytes`. */
export function readFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < 4) return { kind: 'incomplete' }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = view.getUint32(0, true)
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    return bytes.length < 8 ? { kind: 'incomplete' } : { kind: 'skippable', dataBytes: view.getUint32(4, true) }
  }
  if (magic !== FRAME_MAGIC) return { kind: 'invalid', reason: `not a zstd frame (magic 0x${magic.toString(16)})` }
  if (bytes.length < 5) return { kind: 'incomplete' }
  // Frame_Header_Descriptor (section 3.1.1.1.1).
  const descriptor = bytes[4] as number
  const singleSegment = (descriptor & 0x20) !== 0
  if ((descriptor & 0x08) !== 0) return { kind: 'invalid', reason: 'the reserved bit of the frame header descriptor is set' }
  const dictionaryIdBytes = DICTIONARY_ID_BYTES[descriptor & 0x03] as number
  const contentSizeFlag = descriptor >> 6
  const contentSizeBytes = contentSizeFlag === 0 && singleSegment ? 1 : (CONTENT_SIZE_BYTES[contentSizeFlag] as number)
  const headerBytes = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes + contentSizeBytes
  if (bytes.length < headerBytes) return { kind: 'incomplete' }
  let offset = 5
  let windowBytes = 0
  if (!singleSegment) {
    // Window_Descriptor (section 3.1.1.1.2): Exponent (bits 7-3), Mantissa (bits 2-0).
    const windowDescriptor = bytes[offset++] as number
    const windowBase = 2 ** (10 + (windowDescriptor >> 3))
    windowBytes = windowBase + (windowBase / 8) * (windowDescriptor & 0x07)
  }
  let dictionaryId = 0
  if (dictionaryIdBytes > 0) dictionaryId = readUnsigned(view, offset, dictionaryIdBytes)
  offset += dictionaryIdBytes
  let contentBytes: number | null = null
  if (contentSizeBytes > 0) {
    contentBytes = readUnsigned(view, offset, contentSizeBytes)
    // Frame_Content_Size (section 3.1.1.1.4): the 2-byte form is offset by 256.
    if (contentSizeBytes === 2) contentBytes += 256
  }
  if (singleSegment) windowBytes = contentBytes ?? 0
  return { kind: 'frame', windowBytes, contentBytes, dictionaryId }
}

/** Little-endian unsigned of 1, 2, 4 or 8 bytes (8-byte values above 2^53 lose precision, which only makes them compare as huge). */
function readUnsigned(view: DataView, offset: number, length: number): number {
  if (length === 1) return view.getUint8(offset)
  if (length === 2) return view.getUint16(offset, true)
  if (length === 4) return view.getUint32(offset, true)
  return Number(view.getBigUint64(offset, true))
}
