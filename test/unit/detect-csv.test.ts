import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { AnomalyDetector, DetectorInput } from '../../shared/anomaly/detector.js'
import { detectCsv } from '../../models/backtest/detect-csv.js'
import { readDetectionResults } from '../../models/backtest/detection-results.js'
import { parseRowTimestamp } from '../../models/backtest/series-csv-rows.js'
import { useTempDir } from '../helpers/temp-dir.js'

/**
 * A stand-in for the ONNX detector, for the CSV pipeline's own logic: it
 * records what it is fed and scores each reading from the readings before it
 * (|value - mean of the previous ones| / 100, NaN for the first two), so
 * order and chunking mistakes change the scores. The real model is exercised
 * in test/integration/detect-cli.test.ts.
 */
class RecordingDetector implements AnomalyDetector {
  readonly model = { name: 'recording', version: '0', path: '/dev/null', sha256: '0'.repeat(64), window: 2 }
  readonly batches: DetectorInput[][] = []
  readonly forgotten: string[] = []
  #sum = 0
  #count = 0

  async scoreBatch(inputs: readonly DetectorInput[]): Promise<Float64Array> {
    this.batches.push([...inputs])
    return Float64Array.from(inputs, (input) => {
      const score = this.#count < 2 ? NaN : Math.abs(input.value - this.#sum / this.#count) / 100
      this.#sum += input.value
      this.#count++
      return score
    })
  }

  forget(seriesKey: string): void {
    this.forgotten.push(seriesKey)
  }

  async close(): Promise<void> {}
}

function writeCsv(dir: string, name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('cloudos detect pipeline (detectCsv)', () => {
  it('feeds rows in file order in chunks, one series, and writes timestamp,value,anomaly_score', async () => {
    const dir = useTempDir()
    const input = writeCsv(dir, 'in.csv', 'timestamp,value\n2014-04-01 00:00:00,10\n2014-04-01 00:05:00,10\n2014-04-01 00:10:00,40\n1396311000000,10\n2014-04-01 00:20:00,10.5\n')
    const detector = new RecordingDetector()
    const summary = await detectCsv({ input, output: join(dir, 'out.csv'), detector, seriesKey: 'in/value', chunkSize: 2 })
    expect(detector.batches.map((b) => b.length)).toEqual([2, 2, 1])
    expect(detector.batches.flat().map((r) => [r.seriesKey, r.ts, r.value])).toEqual([
      ['in/value', Date.UTC(2014, 3, 1, 0, 0), 10],
      ['in/value', Date.UTC(2014, 3, 1, 0, 5), 10],
      ['in/value', Date.UTC(2014, 3, 1, 0, 10), 40],
      ['in/value', 1396311000000, 10],
      ['in/value', Date.UTC(2014, 3, 1, 0, 20), 10.5],
    ])
    // Scores: NaN, NaN (written as 0), |40-10|/100 = 0.3, |10-20|/100 = 0.1, |10.5-17.5|/100 = 0.07
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe(
      'timestamp,value,anomaly_score\n2014-04-01 00:00:00,10,0\n2014-04-01 00:05:00,10,0\n2014-04-01 00:10:00,40,0.3\n1396311000000,10,0.1\n2014-04-01 00:20:00,10.5,0.07\n',
    )
    expect(summary).toMatchObject({ rows: 5, written: 5, scored: 3, skipped: 0, seriesKey: 'in/value' })
  })

  it('gives the same scores whatever the chunk size', async () => {
    const dir = useTempDir()
    const rows = Array.from({ length: 101 }, (_, i) => `${1_000_000 + i * 60_000},${Math.sin(i / 5) * 10 + (i === 70 ? 50 : 0)}`)
    const input = writeCsv(dir, 'in.csv', `timestamp,value\n${rows.join('\n')}\n`)
    const outputs = []
    for (const chunkSize of [1, 7, 64]) {
      await detectCsv({ input, output: join(dir, `out-${chunkSize}.csv`), detector: new RecordingDetector(), seriesKey: 's/v', chunkSize })
      outputs.push(readFileSync(join(dir, `out-${chunkSize}.csv`), 'utf8'))
    }
    expect(outputs[1]).toBe(outputs[0])
    expect(outputs[2]).toBe(outputs[0])
  })

  it('skips and counts rows whose value is not a finite number, as the edge rejects them', async () => {
    const dir = useTempDir()
    const input = writeCsv(dir, 'in.csv', 'timestamp,value\r\n2014-04-01 00:00:00,1\r\n2014-04-01 00:05:00,\r\n2014-04-01 00:10:00,NaN\r\n2014-04-01 00:15:00,abc\r\n2014-04-01 00:20:00,2\r\n')
    const detector = new RecordingDetector()
    const summary = await detectCsv({ input, output: join(dir, 'out.csv'), detector, seriesKey: 's/v' })
    expect(summary).toMatchObject({ rows: 5, written: 2, skipped: 3, skippedLines: [3, 4, 5] })
    expect(detector.batches.flat().map((r) => r.value)).toEqual([1, 2])
    expect(readFileSync(join(dir, 'out.csv'), 'utf8').split('\n')).toHaveLength(4)
  })

  it('with strict, stops at the first bad value with its line and writes nothing', async () => {
    const dir = useTempDir()
    const input = writeCsv(dir, 'in.csv', 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,inf\n')
    const output = join(dir, 'out.csv')
    await expect(detectCsv({ input, output, detector: new RecordingDetector(), seriesKey: 's/v', strict: true })).rejects.toMatchObject({
      code: 'DETECT_ERR_BAD_VALUE',
      message: expect.stringContaining('in.csv:3'),
    })
    expect(readdirSync(dir)).toEqual(['in.csv'])
  })

  it.each([
    ['a wrong header', 'time,val\n1,2\n', 1],
    ['a row with a missing field', 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n', 3],
    ['a timestamp that is not a date', 'timestamp,value\n2014-04-01 00:00:00,1\nyesterday,2\n', 3],
    ['an impossible date', 'timestamp,value\n2014-02-30 00:00:00,1\n', 2],
    ['an empty file', '', 0],
  ])('refuses %s with DETECT_ERR_CSV_FORMAT naming the line, and leaves no output', async (_what, text, line) => {
    const dir = useTempDir()
    const input = writeCsv(dir, 'in.csv', text)
    const output = join(dir, 'out.csv')
    await expect(detectCsv({ input, output, detector: new RecordingDetector(), seriesKey: 's/v' })).rejects.toMatchObject({
      code: 'DETECT_ERR_CSV_FORMAT',
      details: expect.objectContaining({ line }),
    })
    expect(readdirSync(dir)).toEqual(['in.csv'])
  })

  it('reports a missing input as DETECT_ERR_INPUT_UNREADABLE and an unwritable output as DETECT_ERR_OUTPUT_UNWRITABLE', async () => {
    const dir = useTempDir()
    await expect(detectCsv({ input: join(dir, 'nope.csv'), output: join(dir, 'out.csv'), detector: new RecordingDetector(), seriesKey: 's/v' })).rejects.toMatchObject({
      code: 'DETECT_ERR_INPUT_UNREADABLE',
    })
    expect(existsSync(join(dir, 'out.csv'))).toBe(false)
    const input = writeCsv(dir, 'in.csv', 'timestamp,value\n1,2\n')
    await expect(detectCsv({ input, output: join(dir, 'missing-dir', 'out.csv'), detector: new RecordingDetector(), seriesKey: 's/v' })).rejects.toMatchObject({
      code: 'DETECT_ERR_OUTPUT_UNWRITABLE',
    })
  })

  it('streams a large file through a slow consumer without holding it in memory', async () => {
    const dir = useTempDir()
    const rowCount = 100_000
    const lines = ['timestamp,value']
    for (let i = 0; i < rowCount; i++) lines.push(`${1_400_000_000_000 + i * 1000},${i % 97}`)
    const input = writeCsv(dir, 'big.csv', `${lines.join('\n')}\n`)
    lines.length = 0
    // A consumer that reads slowly: the writer must wait for it (backpressure) rather than buffer everything.
    const sink = new PassThrough({ highWaterMark: 16 * 1024 })
    let received = 0
    let maxBuffered = 0
    sink.on('data', (chunk: Buffer) => {
      received += chunk.length
      maxBuffered = Math.max(maxBuffered, sink.writableLength)
      sink.pause()
      setImmediate(() => sink.resume())
    })
    const summary = await detectCsv({ input, output: sink, detector: new RecordingDetector(), seriesKey: 's/v', chunkSize: 64 })
    expect(summary.written).toBe(rowCount)
    expect(received).toBeGreaterThan(rowCount * 10)
    expect(maxBuffered).toBeLessThan(256 * 1024)
  })
})

describe('detection results and timestamps', () => {
  it('reads what detect writes, and NAB results files with more columns', async () => {
    const dir = useTempDir()
    const ours = writeCsv(dir, 'ours.csv', 'timestamp,value,anomaly_score\n2014-04-01 00:00:00,1,0\n2014-04-01 00:05:00,2,0.75\n')
    expect(await readDetectionResults(ours)).toEqual({
      timestamps: Float64Array.from([Date.UTC(2014, 3, 1), Date.UTC(2014, 3, 1, 0, 5)]),
      scores: Float64Array.from([0, 0.75]),
    })
    const nab = writeCsv(dir, 'nab.csv', 'timestamp,value,anomaly_score,label,S(t)_standard\n2014-04-01 00:00:00,1,0.5,0,0\n')
    expect((await readDetectionResults(nab)).scores).toEqual(Float64Array.from([0.5]))
    const bad = writeCsv(dir, 'bad.csv', 'timestamp,value\n2014-04-01 00:00:00,1\n')
    await expect(readDetectionResults(bad)).rejects.toMatchObject({ code: 'NAB_ERR_RESULTS' })
  })

  it('accepts NAB date-times, ISO 8601 and epoch milliseconds', () => {
    expect(parseRowTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1))
    expect(parseRowTimestamp('2014-04-01T00:00:00Z')).toBe(Date.UTC(2014, 3, 1))
    expect(parseRowTimestamp('1396310400000')).toBe(Date.UTC(2014, 3, 1))
    expect(parseRowTimestamp('April 1st')).toBeUndefined()
  })
})
