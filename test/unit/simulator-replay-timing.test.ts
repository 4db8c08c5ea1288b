import { describe, expect, it } from 'vitest'
import {
  replayDueOffsets,
  sensorIdFromFileName,
  timestampShiftMs,
  timestampWindowWarnings,
} from '../../shared/simulator/replay-timing.js'

const MINUTE = 60_000
const rows = [0, 5, 10, 20].map((m, i) => ({ ts: Date.UTC(2014, 3, 1) + m * MINUTE, value: i }))

describe('replayDueOffsets', () => {
  it('spaces rows evenly at a fixed rate, whatever their timestamps', () => {
    expect([...replayDueOffsets(rows, { kind: 'rate', rowsPerSecond: 4 })]).toEqual([0, 250, 500, 750])
    expect([...replayDueOffsets(rows, { kind: 'rate', rowsPerSecond: 0.5 })]).toEqual([0, 2000, 4000, 6000])
  })

  it('keeps the original spacing divided by the speed', () => {
    // 5 minutes at 3600x is 83.3 ms.
    const offsets = [...replayDueOffsets(rows, { kind: 'speed', speed: 3600 })]
    expect(offsets[0]).toBe(0)
    expect(offsets[1]).toBeCloseTo((5 * MINUTE) / 3600, 9)
    expect(offsets[3]).toBeCloseTo((20 * MINUTE) / 3600, 9)
    expect([...replayDueOffsets(rows, { kind: 'speed', speed: 1 })]).toEqual([0, 5 * MINUTE, 10 * MINUTE, 20 * MINUTE])
  })

  it('never schedules a row before its predecessor when timestamps go backwards', () => {
    const shuffled = [rows[0], rows[2], rows[1], rows[3]] as typeof rows
    expect([...replayDueOffsets(shuffled, { kind: 'speed', speed: 60 })]).toEqual([0, 10_000, 10_000, 20_000])
  })
})

describe('timestampShiftMs', () => {
  const startedAt = Date.UTC(2026, 10, 26, 12)

  it('moves the last row to the start and keeps the spacing', () => {
    const shift = timestampShiftMs(rows, 'shift', startedAt)
    const shifted = rows.map((r) => r.ts + shift)
    expect(shifted[3]).toBe(startedAt)
    expect(shifted[1]! - shifted[0]!).toBe(5 * MINUTE)
    for (const ts of shifted) expect(ts).toBeLessThanOrEqual(startedAt)
  })

  it('uses the latest timestamp when the file is not sorted, so nothing lands in the future', () => {
    const unsorted = [rows[3], rows[0]] as typeof rows
    expect(timestampShiftMs(unsorted, 'shift', startedAt)).toBe(startedAt - (rows[3] as { ts: number }).ts)
  })

  it('leaves original timestamps alone', () => {
    expect(timestampShiftMs(rows, 'original', startedAt)).toBe(0)
  })
})

describe('timestampWindowWarnings', () => {
  const now = Date.UTC(2026, 10, 26)

  it('warns about rows a default edge would reject, and only then', () => {
    expect(timestampWindowWarnings(rows, 0, now)).toEqual([
      '4 of 4 rows are older than 90 days; an edge with default ingest.maxPastAgeMs rejects them (use --timestamps shift)',
    ])
    expect(timestampWindowWarnings(rows, timestampShiftMs(rows, 'shift', now), now)).toEqual([])
    const future = timestampWindowWarnings(rows, now - rows[0]!.ts + 2 * 3_600_000, now)
    expect(future).toHaveLength(1)
    expect(future[0]).toMatch(/^4 of 4 rows are more than an hour in the future/)
  })
})

describe('sensorIdFromFileName', () => {
  it('uses the base name without extension, in the id charset and at most 64 characters', () => {
    expect(sensorIdFromFileName('/data/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv')).toBe('ec2_cpu_utilization_24ae8d')
    expect(sensorIdFromFileName('iio_us-east-1_i-a2eb1cd9_NetworkIn.csv')).toBe('iio_us-east-1_i-a2eb1cd9_NetworkIn')
    expect(sensorIdFromFileName('C:\\data\\line 3 (west)#2.csv')).toBe('line_3__west__2')
    expect(sensorIdFromFileName(`/x/${'a'.repeat(80)}.csv`)).toBe('a'.repeat(64))
    expect(sensorIdFromFileName('/x/.csv')).toBe('replay')
  })
})
