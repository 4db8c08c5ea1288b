/**
 * Hand-made Zstandard frames (RFC 8878 section 3.1.1) for decompression-bomb
 * tests: a gibibyte of zeros is 8,192 RLE blocks of 4 bytes each (32 KiB),
 * built in microseconds, and the frame header says exactly what the test
 * wants (window size, declared content size). Real decoders (zstd-napi, the
 * zstd CLI) read them; test/ota/zstd-frames.test.ts checks that.
 */

export const ZSTD_MAGIC = 0xfd2fb528
/** Block_Maximum_Size (RFC 8878 section 3.1.1.2.4): 128 KiB. */
export const MAX_BLOCK_BYTES = 128 * 1024

export type ZstdBlock = { raw: Buffer } | { rle: number; size: number }

export interface FrameOptions {
  /** log2 of the window (Window_Descriptor, section 3.1.1.1.2); 10..41. Default 20 (1 MiB). */
  windowLog?: number
  /** Frame_Content_Size to declare (8-byte field); absent: not declared. */
  contentSize?: number
  blocks: readonly ZstdBlock[]
}

/** One frame: header (no dictionary, no checksum, not single-segment), then the blocks, the last one flagged. */
export function zstdFrame(options: FrameOptions): Buffer {
  const windowLog = options.windowLog ?? 20
  const header = Buffer.alloc(options.contentSize === undefined ? 6 : 14)
  header.writeUInt32LE(ZSTD_MAGIC, 0)
  // Frame_Header_Descriptor: FCS flag 3 (8 bytes) when declared, single segment off.
  header[4] = options.contentSize === undefined ? 0 : 0xc0
  header[5] = (windowLog - 10) << 3
  if (options.contentSize !== undefined) header.writeBigUInt64LE(BigInt(options.contentSize), 6)
  const parts: Buffer[] = [header]
  const blocks = options.blocks.length === 0 ? [{ raw: Buffer.alloc(0) }] : options.blocks
  blocks.forEach((block, i) => {
    const last = i === blocks.length - 1 ? 1 : 0
    const size = 'raw' in block ? block.raw.length : block.size
    if (size > MAX_BLOCK_BYTES) throw new Error(`a block holds at most ${MAX_BLOCK_BYTES} bytes`)
    // Block_Header (section 3.1.1.2): Last_Block bit 0, Block_Type bits 1-2 (0 raw, 1 RLE), Block_Size bits 3-23.
    const type = 'raw' in block ? 0 : 1
    const blockHeader = Buffer.alloc(3)
    blockHeader.writeUIntLE(last | (type << 1) | (size << 3), 0, 3)
    parts.push(blockHeader, 'raw' in block ? block.raw : Buffer.of(block.rle))
  })
  return Buffer.concat(parts)
}

/** `bytes` as raw blocks of at most 128 KiB. */
export function rawBlocks(bytes: Buffer): ZstdBlock[] {
  const blocks: ZstdBlock[] = []
  for (let offset = 0; offset < bytes.length; offset += MAX_BLOCK_BYTES) blocks.push({ raw: bytes.subarray(offset, offset + MAX_BLOCK_BYTES) })
  return blocks
}

/** `size` zero bytes as RLE blocks: 4 compressed bytes per 128 KiB. */
export function zeroBlocks(size: number): ZstdBlock[] {
  const blocks: ZstdBlock[] = []
  for (let left = size; left > 0; left -= MAX_BLOCK_BYTES) blocks.push({ rle: 0, size: Math.min(left, MAX_BLOCK_BYTES) })
  return blocks
}

export const GiB = 1024 * 1024 * 1024
export const MiB = 1024 * 1024
