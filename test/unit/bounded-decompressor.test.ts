import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { compress, decompress } from 'zstd-napi'
import { isCloudosError } from '../../shared/errors.js'
import { BoundedDecompressor } from '../../shared/zstd/bounded-decompressor.js'
import { readFrameHeader } from '../../shared/zstd/frame-header.js'
import { MiB, rawBlocks, zeroBlocks, zstdFrame } from '../ota/zstd-frames.js'

const codes = { tooLarge: 'OTA_ERR_BUNDLE_TOO_LARGE', windowTooLarge: 'OTA_ERR_ZSTD_WINDOW_TOO_LARGE', unreadable: 'OTA_ERR_BUNDLE_UNREADABLE' } as const

/** Runs the decompressor over `input` fed in `chunkBytes` pieces; returns the chunk sizes it produced, or its error code. */
async function drain(input: Buffer, options: { maxOutputBytes?: number; chunkBytes?: number; provisional?: boolean } = {}): Promise<{ sizes: number[]; bytes: Buffer } | { code: string; message: string }> {
  const decompressor = new BoundedDecompressor({ maxOutputBytes: options.maxOutputBytes ?? 64 * MiB, provisionalLimit: options.provisional === true, what: 'the test stream', codes })
  const chunkBytes = options.chunkBytes ?? 64 * 1024
  const pieces = Array.from({ length: Math.ceil(input.length / chunkBytes) }, (_, i) => input.subarray(i * chunkBytes, (i + 1) * chunkBytes))
  const sizes: number[] = []
  const out: Buffer[] = []
  try {
    for await (const chunk of decompressor.decompress(Readable.from(pieces))) {
      sizes.push(chunk.length)
      if (out.length < 64) out.push(chunk)
    }
  } catch (err) {
    if (isCloudosError(err)) return { code: err.code, message: err.message }
    throw err
  }
  return { sizes, bytes: Buffer.concat(out) }
}

describe('BoundedDecompressor (shared/zstd)', () => {
  it('decodes what zstd wrote, a frame at a time, in windows of at most 128 KiB, with chunks cut anywhere', async () => {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(20_000))
    const input = Buffer.concat([compress(text), compress(Buffer.from('second frame'))])
    for (const chunkBytes of [1, 7, 4096, input.length]) {
      const result = await drain(input, { chunkBytes })
      if ('code' in result) throw new Error(result.message)
      expect(Math.max(...result.sizes)).toBeLessThanOrEqual(128 * 1024)
      expect(result.bytes.equals(Buffer.concat([text, Buffer.from('second frame')]).subarray(0, result.bytes.length))).toBe(true)
      expect(result.sizes.reduce((a, b) => a + b, 0)).toBe(text.length + 12)
    }
  })

  it('hand-made frames (test/ota/zstd-frames.ts) are real zstd: zstd-napi decodes them', () => {
    const frame = zstdFrame({ contentSize: 3 * 128 * 1024 + 5, blocks: [...rawBlocks(Buffer.from('hello')), ...zeroBlocks(3 * 128 * 1024)] })
    const out = decompress(frame)
    expect(out.length).toBe(3 * 128 * 1024 + 5)
    expect(out.subarray(0, 5).toString()).toBe('hello')
    expect(readFrameHeader(frame)).toEqual({ kind: 'frame', windowBytes: MiB, contentBytes: 3 * 128 * 1024 + 5, dictionaryId: 0 })
  })

  it('stops as soon as the count passes the limit (1 GiB of zeros, a 1 MiB limit)', async () => {
    const result = await drain(zstdFrame({ blocks: zeroBlocks(1024 * MiB) }), { maxOutputBytes: MiB })
    expect(result).toMatchObject({ code: 'OTA_ERR_BUNDLE_TOO_LARGE' })
  })

  it('refuses a frame declaring more content than the limit before inflating it, and a window over 8 MiB, also after a skippable frame', async () => {
    const skippable = Buffer.concat([Buffer.of(0x5f, 0x2a, 0x4d, 0x18, 3, 0, 0, 0), Buffer.from('abc')])
    const declared = await drain(Buffer.concat([skippable, zstdFrame({ contentSize: 1024 * MiB, blocks: zeroBlocks(MiB) })]), { maxOutputBytes: 16 * MiB })
    expect(declared).toMatchObject({ code: 'OTA_ERR_BUNDLE_TOO_LARGE' })
    expect((declared as { message: string }).message).toMatch(/declares 1073741824 bytes of content/)
    const window = await drain(Buffer.concat([compress(Buffer.from('x')), skippable, zstdFrame({ windowLog: 24, blocks: zeroBlocks(MiB) })]))
    expect(window).toMatchObject({ code: 'OTA_ERR_ZSTD_WINDOW_TOO_LARGE' })
    // 8 MiB itself is allowed (zstd -19).
    expect(await drain(zstdFrame({ windowLog: 23, blocks: zeroBlocks(MiB) }))).toMatchObject({ sizes: expect.any(Array) })
  })

  it('with a provisional limit, checks declared content sizes only once tighten() sets the final bound', async () => {
    const decompressor = new BoundedDecompressor({ maxOutputBytes: 1024, provisionalLimit: true, what: 'the test stream', codes })
    const iterator = decompressor.decompress(Readable.from([zstdFrame({ contentSize: 10 * MiB, blocks: [...rawBlocks(Buffer.alloc(100)), ...zeroBlocks(10 * MiB - 100)] })]))
    // The first window passes the 1 KiB head limit: refused by count, not by the declaration.
    await expect(iterator.next()).rejects.toMatchObject({ code: 'OTA_ERR_BUNDLE_TOO_LARGE', message: expect.stringMatching(/exceeds 1024 bytes/) })
    const late = new BoundedDecompressor({ maxOutputBytes: 20 * MiB, provisionalLimit: true, what: 'the test stream', codes })
    const lateIterator = late.decompress(Readable.from([zstdFrame({ contentSize: 10 * MiB, blocks: zeroBlocks(10 * MiB) })]))
    await lateIterator.next()
    expect(() => late.tighten(MiB)).toThrow(/declares 10485760 bytes of content, more than the 1048576 still allowed/)
  })

  it('refuses a stream cut in the middle of a frame, and bytes that are not zstd', async () => {
    const frame = compress(Buffer.alloc(300_000, 7))
    expect(await drain(frame.subarray(0, frame.length - 3))).toMatchObject({ code: 'OTA_ERR_BUNDLE_UNREADABLE' })
    expect(await drain(Buffer.from('this is not zstd at all'))).toMatchObject({ code: 'OTA_ERR_BUNDLE_UNREADABLE' })
  })
})
