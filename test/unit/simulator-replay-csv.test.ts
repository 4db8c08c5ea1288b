import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseCsvTimestamp, parseReplayCsv, readReplayCsv } from '../../shared/simulator/replay-csv.js'
import { SimulatorError } from '../../shared/simulator/simulator-errors.js'
import { packageRoot } from '../../shared/package-root.js'

// The design folder `shared/` sits beside the checkout (see the product brief).
const NAB = join(packageRoot(), '..', 'shared', 'datasets', 'nab', 'data')

function failure(text: string): SimulatorError {
  try {
    parseReplayCsv(text, 'data.csv')
  } catch (err) {
    expect(err).toBeInstanceOf(SimulatorError)
    return err as SimulatorError
  }
  throw new Error('expected the CSV to be rejected')
}

describe('parseCsvTimestamp', () => {
  it('reads NAB timestamps as UTC', () => {
    expect(parseCsvTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1))
    expect(parseCsvTimestamp('2011-07-01 00:15:01')).toBe(Date.UTC(2011, 6, 1, 0, 15, 1))
  })

  it('accepts ISO 8601 with T, fractions and zones', () => {
    expect(parseCsvTimestamp('2014-04-01T12:30:00Z')).toBe(Date.UTC(2014, 3, 1, 12, 30))
    expect(parseCsvTimestamp('2014-04-01T12:30:00.250')).toBe(Date.UTC(2014, 3, 1, 12, 30, 0, 250))
    expect(parseCsvTimestamp('2014-04-01T12:30:00+02:00')).toBe(Date.UTC(2014, 3, 1, 10, 30))
    expect(parseCsvTimestamp('2014-04-01 12:30')).toBe(Date.UTC(2014, 3, 1, 12, 30))
  })

  it('rejects impossible dates and other formats', () => {
    for (const bad of ['2014-02-30 00:00:00', '2014-13-01 00:00:00', '2014-04-01 24:00:00', '2014-04-01 10:60:00', '1396310400000', '04/01/2014 00:00', '', 'now']) {
      expect(parseCsvTimestamp(bad), bad).toBeUndefined()
    }
  })
})

describe('parseReplayCsv', () => {
  it('returns rows in file order, including out-of-order timestamps', () => {
    const rows = parseReplayCsv('timestamp,value\n2014-04-01 00:05:00,2.5\n2014-04-01 00:00:00,-1e3\n2014-04-01 00:10:00,0\n', 'x.csv')
    expect(rows).toEqual([
      { ts: Date.UTC(2014, 3, 1, 0, 5), value: 2.5 },
      { ts: Date.UTC(2014, 3, 1, 0, 0), value: -1000 },
      { ts: Date.UTC(2014, 3, 1, 0, 10), value: 0 },
    ])
  })

  it('tolerates a BOM, CRLF, quotes, spaces, a capitalised header and blank lines', () => {
    const rows = parseReplayCsv('\uFEFFTimestamp, Value\r\n"2014-04-01 00:00:00", 1.5\r\n\r\n2014-04-01 00:05:00,"2"\r\n', 'x.csv')
    expect(rows.map((r) => r.value)).toEqual([1.5, 2])
  })

  it('names file and line of a bad value', () => {
    const err = failure('timestamp,value\n2014-04-01 00:00:00,1\n\n2014-04-01 00:10:00,abc\n')
    expect(err.code).toBe('SIM_ERR_CSV_FORMAT')
    expect(err.message).toBe('data.csv:4: value "abc" is not a finite number')
    expect(err.details).toEqual({ file: 'data.csv', line: 4 })
  })

  it('refuses values Number() would accept but a CSV number is not', () => {
    for (const value of ['', '0x1f', 'Infinity', 'NaN', '1,5', '1e999']) {
      expect(() => parseReplayCsv(`timestamp,value\n2014-04-01 00:00:00,${value}\n`, 'v.csv'), value).toThrow(/v\.csv:2: /)
    }
  })

  it('names file and line of a bad timestamp', () => {
    expect(failure('timestamp,value\n2014-04-01 00:00:00,1\n2014-02-30 00:00:00,2\n').message).toMatch(/^data\.csv:3: timestamp "2014-02-30 00:00:00" is not a date-time/)
  })

  it('rejects a wrong header, a wrong field count, an empty file and a header alone', () => {
    expect(failure('time,val\n2014-04-01 00:00:00,1\n').message).toMatch(/^data\.csv:1: expected the header "timestamp,value"/)
    expect(failure('timestamp,value\n2014-04-01 00:00:00,1,2\n').message).toBe('data.csv:2: expected 2 fields (timestamp,value), got 3')
    expect(failure('').message).toMatch(/the file is empty/)
    expect(failure('timestamp,value\n\n').message).toMatch(/header but no data rows/)
  })
})

describe('readReplayCsv', () => {
  it('reads every NAB file in the shared data set', async () => {
    for (const category of readdirSync(NAB)) {
      for (const file of readdirSync(join(NAB, category))) {
        const rows = await readReplayCsv(join(NAB, category, file))
        expect(rows.length, file).toBeGreaterThan(1000)
      }
    }
  })

  it('matches the first and last rows of a NAB file', async () => {
    const rows = await readReplayCsv(join(NAB, 'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv'))
    expect(rows).toHaveLength(4032)
    expect(rows[0]).toEqual({ ts: Date.UTC(2014, 1, 14, 14, 30), value: 0.132 })
    expect(rows[4031]).toEqual({ ts: Date.UTC(2014, 1, 28, 14, 25), value: 0.134 })
  })

  it('reports an unreadable file with its own code', async () => {
    await expect(readReplayCsv('/nonexistent/file.csv')).rejects.toMatchObject({ code: 'SIM_ERR_CSV_UNREADABLE' })
  })

  it('names the path given in errors from a real file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-csv-'))
    const path = join(dir, 'broken.csv')
    writeFileSync(path, 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n')
    await expect(readReplayCsv(path)).rejects.toThrow(`${path}:3: expected 2 fields`)
  })
})
