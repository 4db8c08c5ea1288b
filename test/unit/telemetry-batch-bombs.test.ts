import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBatch, HEADER_BYTES } from '../../shared/telemetry-batch/index.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { MiB, batchChildMeasured, type MeasuredRun } from '../ota/peak-memory.js'
import { GiB, zeroBlocks, zstdFrame } from '../ota/zstd-frames.js'

/**
 * Issue 13, point 4, for telemetry batches: each bomb inflates to 1 GiB and
 * goes through the hub's decode (cloud/telemetry/accept-batch.ts) in a child
 * process with the hub's default limits; its peak RSS is compared with the
 * same child decoding an honest batch. A batch is decoded whole (its columns
 * need the whole body), so the bound is the body length the header declares,
 * checked against telemetry.maxDecompressedBytes before a byte is allocated.
 * Needs `npm run build`.
 */
const HUB_LIMITS = { maxDecompressedBytes: 64 * MiB, maxReadingsPerBatch: 2_000_000 }

let dir: TempDir
let idle: number

/** A batch header (docs/formats/batch.md) around any payload; the CRC does not matter: every bomb is refused before it is checked. */
function batchAround(payload: Buffer, bodyLength: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + payload.length)
  out.write('CLTB', 0, 'latin1')
  out[4] = 1
  out[5] = 1
  out.writeUInt32LE(bodyLength, 12)
  out.writeUInt32LE(payload.length, 16)
  out.writeUInt32LE(crc32(out.subarray(0, 20)), 20)
  payload.copy(out, HEADER_BYTES)
  return out
}

async function decodeInChild(name: string, batch: Buffer): Promise<MeasuredRun & { answer: { code?: string; reason?: string; message?: string; readings?: number } }> {
  const path = join(dir.path, name)
  writeFileSync(path, batch)
  const run = await batchChildMeasured(path, HUB_LIMITS)
  expect(run.code, run.stderr).toBe(0)
  return { ...run, answer: JSON.parse(run.stdout) as { code?: string; reason?: string; message?: string; readings?: number } }
}

const honest = encodeBatch({
  seq: 7,
  series: [{ sensorId: 'hall-1', metric: 'temperature', timestamps: Float64Array.from({ length: 1000 }, (_, i) => 1_700_000_000_000 + i * 1000), values: Float64Array.from({ length: 1000 }, (_, i) => 20 + (i % 13) / 10) }],
})
const gibibyteOfZeros = () => zstdFrame({ blocks: zeroBlocks(GiB) })

beforeAll(async () => {
  dir = makeTempDir('cloudos-batch-bombs-')
  const run = await decodeInChild('honest.bin', honest)
  expect(run.answer).toEqual({ readings: 1000 })
  idle = run.peakRssBytes
}, 60_000)

afterAll(() => dir.remove())

describe('telemetry batch decode at the hub: peak memory against 1 GiB bombs', () => {
  const withinBudget = (run: MeasuredRun, budget = 64 * MiB) =>
    expect(run.peakRssBytes - idle, `peak ${(run.peakRssBytes / MiB).toFixed(1)} MiB, idle ${(idle / MiB).toFixed(1)} MiB`).toBeLessThan(budget)

  it('a single frame, its 1 GiB body declared honestly: refused before inflating', async () => {
    const run = await decodeInChild('declared.bin', batchAround(gibibyteOfZeros(), GiB))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_TOO_LARGE', reason: 'BATCH_ERR_TOO_LARGE' })
    withinBudget(run, 16 * MiB)
  })

  it('a single frame whose header lies (1 MiB declared, 1 GiB inside): zstd stops at the declared size', async () => {
    const run = await decodeInChild('lying.bin', batchAround(gibibyteOfZeros(), MiB))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_INVALID', reason: 'BATCH_ERR_CORRUPT' })
    withinBudget(run, 16 * MiB)
  })

  it('a frame declaring 1 GiB of content behind a 4 MiB header: refused before the body is allocated', async () => {
    const run = await decodeInChild('content-size.bin', batchAround(zstdFrame({ contentSize: GiB, blocks: zeroBlocks(GiB) }), 4 * MiB))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_INVALID', reason: 'BATCH_ERR_CORRUPT' })
    expect(run.answer.message).toMatch(/declares 1073741824 bytes of content/)
    withinBudget(run, 16 * MiB)
  })

  it('many frames (1,024 of 1 MiB) behind a 4 MiB header: refused before the body is allocated', async () => {
    const frame = zstdFrame({ blocks: zeroBlocks(MiB) })
    const run = await decodeInChild('many-frames.bin', batchAround(Buffer.concat(Array.from({ length: 1024 }, () => frame)), 4 * MiB))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_INVALID', reason: 'BATCH_ERR_CORRUPT' })
    expect(run.answer.message).toMatch(/follow the zstd frame/)
    withinBudget(run, 16 * MiB)
  })

  it('a trailing bomb frame after an honest batch\'s frame: refused before the body is allocated', async () => {
    const payload = honest.subarray(HEADER_BYTES)
    expect(honest[5]).toBe(1)
    const run = await decodeInChild('trailing.bin', batchAround(Buffer.concat([payload, gibibyteOfZeros()]), honest.readUInt32LE(12)))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_INVALID', reason: 'BATCH_ERR_CORRUPT' })
    expect(run.answer.message).toMatch(/follow the zstd frame/)
    withinBudget(run, 16 * MiB)
  })

  it('the worst case the limit allows: a lying header at telemetry.maxDecompressedBytes costs that body and no more', async () => {
    const run = await decodeInChild('at-limit.bin', batchAround(gibibyteOfZeros(), HUB_LIMITS.maxDecompressedBytes))
    expect(run.answer).toMatchObject({ code: 'TELEMETRY_ERR_BATCH_INVALID', reason: 'BATCH_ERR_CORRUPT' })
    withinBudget(run, HUB_LIMITS.maxDecompressedBytes + 16 * MiB)
  })
})
