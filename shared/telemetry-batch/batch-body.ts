import { CloudosError } from '../errors.js'
import { ByteReader, ByteWriter, corrupt } from './byte-io.js'
import { readTimestampColumn, writeTimestampColumn } from './timestamp-column.js'
import type { SeriesColumn, TelemetryBatch } from './types.js'
import { readValueColumn, writeValueColumn } from './value-column.js'

/**
 * The uncompressed body (docs/formats/batch.md, "Body"): sequence number,
 * series table, then every timestamp column, then every value column.
 * Columns of one kind sit together because zstd finds more repeats that way.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function encodeBody(batch: TelemetryBatch): Uint8Array {
  let readings = 0
  for (const series of batch.series) readings += series.timestamps.length
  const out = new ByteWriter(64 + batch.series.length * 48 + readings * 4)
  out.uvarint(batch.seq)
  out.uvarint(batch.series.length)
  for (const series of batch.series) {
    writeString(out, series.sensorId)
    writeString(out, series.metric)
    out.uvarint(series.timestamps.length)
  }
  for (const series of batch.series) writeTimestampColumn(out, series.timestamps)
  for (const series of batch.series) writeValueColumn(out, series.values)
  return out.result()
}

function writeString(out: ByteWriter, text: string): void {
  const bytes = Buffer.from(text, 'utf8')
  out.uvarint(bytes.length)
  out.bytes(bytes)
}

export function decodeBody(body: Uint8Array, maxReadings: number): TelemetryBatch {
  const input = new ByteReader(body)
  const seq = input.uvarint()
  const seriesCount = input.uvarint()
  // Each series table entry takes at least 3 bytes: refuse before allocating.
  if (seriesCount * 3 > input.remaining) throw corrupt('the series count exceeds the body')
  const heads: { sensorId: string; metric: string; count: number }[] = []
  let readings = 0
  for (let s = 0; s < seriesCount; s++) {
    const sensorId = readString(input)
    const metric = readString(input)
    const count = input.uvarint()
    readings += count
    if (readings > maxReadings) {
      throw new CloudosError('BATCH_ERR_TOO_LARGE', `telemetry batch holds more than the ${maxReadings} readings allowed`, { maxReadings })
    }
    heads.push({ sensorId, metric, count })
  }
  const timestamps = heads.map((head) => readTimestampColumn(input, head.count))
  const series: SeriesColumn[] = heads.map((head, s) => ({
    sensorId: head.sensorId,
    metric: head.metric,
    timestamps: timestamps[s] as Float64Array,
    values: readValueColumn(input, head.count),
  }))
  if (input.remaining !== 0) throw corrupt('the body has bytes after the last column')
  return { seq, series }
}

function readString(input: ByteReader): string {
  const bytes = input.bytes(input.uvarint())
  try {
    return utf8.decode(bytes)
  } catch {
    throw corrupt('a series id is not valid UTF-8')
  }
}
