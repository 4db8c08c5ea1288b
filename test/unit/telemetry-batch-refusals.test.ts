import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { compress } from 'zstd-napi'
import { describe, expect, it } from 'vitest'
import { CloudosError } from '../../shared/errors.js'
import { sealBody } from '../../shared/telemetry-batch/batch-envelope.js'
import { decodeBatch, encodeBatch, HEADER_BYTES, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { expectSameBatch, telemetryBatch } from '../helpers/telemetry-batch-arbitraries.js'

const sample: TelemetryBatch = {
  seq: 12,
  series: [
    { sensorId: 'hall-1', metric: 'temperature', timestamps: Float64Array.from({ length: 200 }, (_, i) => 1_700_000_000_000 + i * 1000), values: Float64Array.from({ length: 200 }, (_, i) => 20 + (i % 17) / 10) },
    { sensorId: 'hall-1', metric: 'humidity', timestamps: Float64Array.of(1, 2), values: Float64Array.of(Number.NaN, 3.25) },
  ],
}
const encoded = encodeBatch(sample)

function codeOf(action: () => unknown): string {
  try {
    action()
  } catch (err) {
    if (err instanceof CloudosError) return err.code
    throw err
  }
  return 'decoded'
}

/** A header for an arbitrary payload, with a correct CRC over the given body. */
function handmade(fields: { version?: number; flags?: number; dictionaryId?: number; bodyLength: number; payload: Uint8Array; body: Uint8Array }): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + fields.payload.length)
  out.write('CLTB', 0, 'latin1')
  out[4] = fields.version ?? 1
  out[5] = fields.flags ?? 1
  out.writeUInt32LE(fields.dictionaryId ?? 0, 8)
  out.writeUInt32LE(fields.bodyLength, 12)
  out.writeUInt32LE(fields.payload.length, 16)
  out.writeUInt32LE(crc32(fields.body, crc32(out.subarray(0, 20))), 20)
  out.set(fields.payload, HEADER_BYTES)
  return out
}

describe('telemetry batch codec: refusals', () => {
  it('refuses every truncation with BATCH_ERR_TRUNCATED', () => {
    for (let length = 0; length < encoded.length; length++) {
      expect(codeOf(() => decodeBatch(encoded.subarray(0, length))), `length ${length}`).toBe('BATCH_ERR_TRUNCATED')
    }
  })

  it('refuses trailing bytes and a wrong magic with BATCH_ERR_CORRUPT', () => {
    expect(codeOf(() => decodeBatch(Buffer.concat([encoded, Buffer.of(0)])))).toBe('BATCH_ERR_CORRUPT')
    expect(codeOf(() => decodeBatch(Buffer.from('{"readings":[]}')))).toBe('BATCH_ERR_CORRUPT')
  })

  it('refuses an unknown version with BATCH_ERR_UNKNOWN_VERSION, even when the rest is short', () => {
    const v2 = Buffer.from(encoded)
    v2[4] = 2
    expect(codeOf(() => decodeBatch(v2))).toBe('BATCH_ERR_UNKNOWN_VERSION')
    expect(codeOf(() => decodeBatch(Buffer.from('CLTB\x00', 'latin1')))).toBe('BATCH_ERR_UNKNOWN_VERSION')
  })

  it('refuses reserved flags and fields with BATCH_ERR_CORRUPT', () => {
    const flags = Buffer.from(encoded)
    flags[5] = 0x81
    expect(codeOf(() => decodeBatch(flags))).toBe('BATCH_ERR_CORRUPT')
    const reserved = Buffer.from(encoded)
    reserved[7] = 1
    expect(codeOf(() => decodeBatch(reserved))).toBe('BATCH_ERR_CORRUPT')
  })

  it('refuses a changed body with BATCH_ERR_CHECKSUM', () => {
    const body = Buffer.from([12, 0]) // seq 12, no series
    const batch = handmade({ flags: 0, bodyLength: 2, payload: body, body })
    expect(decodeBatch(batch)).toEqual({ seq: 12, series: [] })
    batch[HEADER_BYTES] = 13
    expect(codeOf(() => decodeBatch(batch))).toBe('BATCH_ERR_CHECKSUM')
  })

  it('refuses a dictionary it does not have with BATCH_ERR_UNKNOWN_DICTIONARY', () => {
    const dictionary = { id: 5, bytes: Buffer.from('hall-1 temperature humidity '.repeat(20)) }
    const bytes = encodeBatch(sample, { dictionary })
    expect(bytes.readUInt32LE(8)).toBe(5)
    expect(codeOf(() => decodeBatch(bytes))).toBe('BATCH_ERR_UNKNOWN_DICTIONARY')
    expect(codeOf(() => decodeBatch(bytes, { dictionaries: new Map([[6, dictionary.bytes]]) }))).toBe('BATCH_ERR_UNKNOWN_DICTIONARY')
    expectSameBatch(decodeBatch(bytes, { dictionaries: new Map([[5, dictionary.bytes]]) }), sample)
  })

  it('refuses a body declared above maxDecompressedBytes with BATCH_ERR_TOO_LARGE, before inflating', () => {
    // 65 MiB of zeros compress to a few KB: a classic bomb, honestly declared.
    const size = 65 * 1024 * 1024
    const bomb = compress(Buffer.alloc(size), { compressionLevel: 19, contentSizeFlag: false })
    expect(bomb.length).toBeLessThan(64 * 1024)
    const declared = handmade({ bodyLength: size, payload: bomb, body: Buffer.alloc(0) })
    const before = process.memoryUsage().arrayBuffers
    expect(codeOf(() => decodeBatch(declared, { maxDecompressedBytes: 1024 * 1024 }))).toBe('BATCH_ERR_TOO_LARGE')
    expect(codeOf(() => decodeBatch(declared))).toBe('BATCH_ERR_TOO_LARGE') // the default limit is 64 MiB
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024)
  })

  it('refuses a bomb whose header lies about its size, without writing past the declared size', () => {
    const bomb = compress(Buffer.alloc(256 * 1024 * 1024), { compressionLevel: 19, contentSizeFlag: false })
    const lying = handmade({ bodyLength: 1000, payload: bomb, body: Buffer.alloc(1000) })
    const before = process.memoryUsage().arrayBuffers
    expect(codeOf(() => decodeBatch(lying))).toBe('BATCH_ERR_CORRUPT')
    // Nothing near 256 MiB was allocated to find out.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024)
  })

  it('refuses a payload that is not exactly one zstd frame (skippable frame first, bytes after it), before inflating', () => {
    const body = Buffer.from([12, 0])
    const frame = compress(body, { contentSizeFlag: false })
    const skippable = Buffer.concat([Buffer.of(0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0), Buffer.alloc(4)])
    expect(decodeBatch(handmade({ bodyLength: 2, payload: frame, body }))).toEqual({ seq: 12, series: [] })
    expect(codeOf(() => decodeBatch(handmade({ bodyLength: 2, payload: Buffer.concat([skippable, frame]), body })))).toBe('BATCH_ERR_CORRUPT')
    expect(codeOf(() => decodeBatch(handmade({ bodyLength: 2, payload: Buffer.concat([frame, skippable]), body })))).toBe('BATCH_ERR_CORRUPT')
    const withContentSize = compress(body, { contentSizeFlag: true })
    expect(decodeBatch(handmade({ bodyLength: 2, payload: withContentSize, body }))).toEqual({ seq: 12, series: [] })
  })

  it('refuses more readings than maxReadings with BATCH_ERR_TOO_LARGE', () => {
    expect(codeOf(() => decodeBatch(encoded, { maxReadings: 201 }))).toBe('BATCH_ERR_TOO_LARGE')
    expect(decodeBatch(encoded, { maxReadings: 202 }).series).toHaveLength(2)
  })

  it('refuses crafted bodies with a valid CRC with a code, never a crash or a huge allocation', () => {
    const bodies: [string, Buffer][] = [
      ['series count far beyond the body', Buffer.from([1, 0xff, 0xff, 0xff, 0x7f])],
      ['reading count beyond the limit', Buffer.from([1, 1, 1, 0x61, 1, 0x62, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['varint longer than 8 bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
      ['invalid UTF-8 id', Buffer.from([1, 1, 1, 0xff, 0, 0])],
      ['unknown column encoding', Buffer.from([1, 1, 0, 0, 1, 9, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0])],
      ['raw column of the wrong length', Buffer.from([1, 1, 0, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0])],
      ['bytes after the last column', Buffer.from([1, 0, 0])],
      ['decimal scale above 22', Buffer.from([1, 1, 0, 0, 1, 1, 1, 0, 1, 4, 23, 0, 0, 0])],
    ]
    for (const [name, body] of bodies) {
      const code = codeOf(() => decodeBatch(handmade({ flags: 0, bodyLength: body.length, payload: body, body }), { maxReadings: 1000 }))
      expect(['BATCH_ERR_CORRUPT', 'BATCH_ERR_TOO_LARGE'], name).toContain(code)
    }
  })

  it('either decodes a bit-flipped batch to the exact original or refuses it with a CloudosError', () => {
    fc.assert(
      fc.property(telemetryBatch, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), (batch, flips) => {
        const bytes = encodeBatch(batch)
        const damaged = Buffer.from(bytes)
        for (const [at, bit] of flips) damaged[at % damaged.length]! ^= 1 << bit
        try {
          expectSameBatch(decodeBatch(damaged), batch)
        } catch (err) {
          if (!(err instanceof CloudosError)) throw err
          expect(err.code).toMatch(/^BATCH_ERR_/)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('refuses random bytes after a valid header prefix with a CloudosError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const code = codeOf(() => decodeBatch(Buffer.concat([Buffer.from('CLTB\x01', 'latin1'), tail])))
        expect(code).toMatch(/^BATCH_ERR_/)
      }),
      { numRuns: 500 },
    )
  })

  it('seals bodies as the decoder expects (sealBody round trip)', () => {
    const body = Buffer.from([3, 0])
    expect(decodeBatch(sealBody(body, { level: 3, dictionary: undefined }))).toEqual({ seq: 3, series: [] })
  })
})
