import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { encodeBody } from '../../shared/telemetry-batch/batch-body.js'
import { decodeBatch, encodeBatch, type SeriesColumn, type TelemetryBatch } from '../../shared/telemetry-batch/index.js'
import { expectSameBatch } from '../helpers/telemetry-batch-arbitraries.js'

/**
 * Golden vectors: each test/golden/batch/<name>.json describes a batch and
 * <name>.bin holds its encoding. Decoding the .bin must give the JSON, and
 * encoding the JSON must give the .bin byte for byte, so any drift of the
 * format shows here. A float is a JSON number, or "0x" + 16 hex digits of its
 * bit pattern (NaN payloads, -0). `bodyHex` is the uncompressed body, so a
 * change of zstd's output (a library upgrade) can be told from a format change.
 *
 * To add a vector: write the .json (without bodyHex), then run
 * CLOUDOS_WRITE_GOLDEN=1 npx vitest run test/golden/telemetry-batch-golden.test.ts
 * and review the new files before committing them.
 */

const dir = fileURLToPath(new URL('./batch/', import.meta.url))
const writeGolden = process.env.CLOUDOS_WRITE_GOLDEN === '1'

interface GoldenSeries {
  sensorId: string
  metric: string
  timestamps: (number | string)[]
  values: (number | string)[]
}
interface GoldenVector {
  description: string
  level: number
  seq: number
  series: GoldenSeries[]
  bodyHex?: string
}

function floatFrom(item: number | string): number {
  if (typeof item === 'number') return item
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, BigInt(item))
  return view.getFloat64(0)
}

function columnFrom(items: (number | string)[]): Float64Array {
  const column = new Float64Array(items.length)
  const view = new DataView(column.buffer)
  items.forEach((item, i) => {
    if (typeof item === 'number') view.setFloat64(i * 8, item, true)
    else view.setBigUint64(i * 8, BigInt(item), true) // bit pattern straight into the buffer
  })
  expect(items.every((item) => typeof item === 'string' || Object.is(floatFrom(item), item))).toBe(true)
  return column
}

function batchFrom(vector: GoldenVector): TelemetryBatch {
  return {
    seq: vector.seq,
    series: vector.series.map((s): SeriesColumn => ({ sensorId: s.sensorId, metric: s.metric, timestamps: columnFrom(s.timestamps), values: columnFrom(s.values) })),
  }
}

const names = readdirSync(dir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.slice(0, -'.json'.length))
  .sort()

describe('telemetry batch golden vectors (test/golden/batch)', () => {
  it('has the vectors the format documentation refers to', () => {
    expect(names).toEqual(expect.arrayContaining(['empty', 'two-series-decimal', 'special-floats', 'noisy-decimals']))
  })

  for (const name of names) {
    const jsonPath = join(dir, `${name}.json`)
    const binPath = join(dir, `${name}.bin`)
    const vector = JSON.parse(readFileSync(jsonPath, 'utf8')) as GoldenVector
    const batch = batchFrom(vector)

    if (writeGolden) {
      it(`writes ${name}`, () => {
        writeFileSync(binPath, encodeBatch(batch, { level: vector.level }))
        writeFileSync(jsonPath, `${JSON.stringify({ ...vector, bodyHex: Buffer.from(encodeBody(batch)).toString('hex') }, null, 2)}\n`)
      })
      continue
    }

    it(`${name}: the body is the documented one`, () => {
      expect(Buffer.from(encodeBody(batch)).toString('hex')).toBe(vector.bodyHex)
    })

    it(`${name}: encoding the JSON gives the .bin byte for byte`, () => {
      expect(existsSync(binPath)).toBe(true)
      expect(encodeBatch(batch, { level: vector.level }).toString('hex')).toBe(readFileSync(binPath).toString('hex'))
    })

    it(`${name}: decoding the .bin gives the JSON bit for bit`, () => {
      expectSameBatch(decodeBatch(readFileSync(binPath)), batch)
    })
  }
})
