import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CommitBatch, SeriesBatch } from '../../edge/ingest/ingest-pipeline.js'
import { CommitWriter } from '../../edge/store/commit-writer.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { DeadLetterStore, type DeadLetter } from '../../edge/store/dead-letter-store.js'
import { applyEdgeMigrations as applyMigrations } from '../../edge/store/migrations.js'
import { ReadingsStore, type ReadingsQuery, type StoredReading } from '../../edge/store/readings-store.js'

interface Stores {
  db: Database.Database
  readings: ReadingsStore
  deadLetters: DeadLetterStore
  counters: CountersStore
  writer: CommitWriter
}

function openStores(): Stores {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  applyMigrations(db)
  const readings = new ReadingsStore(db)
  const deadLetters = new DeadLetterStore(db)
  const counters = new CountersStore(db)
  return { db, readings, deadLetters, counters, writer: new CommitWriter({ db, readings, deadLetters, counters, now: () => 1_000 }) }
}

function batch(series: SeriesBatch[], deadLetters: DeadLetter[] = []): CommitBatch {
  const rejectedByReason: CommitBatch['rejectedByReason'] = {}
  for (const d of deadLetters) rejectedByReason[d.reason] = (rejectedByReason[d.reason] ?? 0) + 1
  return { series, deadLetters, readingCount: series.reduce((n, s) => n + s.timestamps.length, 0), rejectedByReason }
}

function seriesOf(sensorId: string, metric: string, readings: [number, number][]): SeriesBatch {
  return { key: { sensorId, metric }, timestamps: readings.map((r) => r[0]), values: readings.map((r) => r[1]) }
}

/** The reference semantics of a readings query: filter inclusive, sort, cut. */
function model(all: StoredReading[], q: Omit<ReadingsQuery, 'sensorId' | 'metric'>): StoredReading[] {
  const inRange = all.filter((r) => (q.from === undefined || r.ts >= q.from) && (q.to === undefined || r.ts <= q.to))
  inRange.sort((a, b) => (q.order === 'asc' ? a.ts - b.ts : b.ts - a.ts))
  return inRange.slice(0, q.limit)
}

describe('ReadingsStore and CommitWriter on real SQLite', () => {
  let s: Stores
  beforeEach(() => {
    s = openStores()
  })
  afterEach(() => {
    s.db.close()
  })

  it('writes one chunk per series per commit, with counters and dead letters in the same transaction', () => {
    s.writer.write(
      batch(
        [seriesOf('a', 't', [[3, 30], [1, 10], [2, 20]]), seriesOf('b', 't', [[5, 50]])],
        [{ receivedAt: 9, topic: 'sensors/x', reason: 'unknown_topic', detail: 'bad topic', payload: Buffer.from('{"value":1}') }],
      ),
    )
    const chunks = s.db.prepare('SELECT series_id, ts_min, ts_max, count, committed_at FROM reading_chunks ORDER BY id').all()
    expect(chunks).toEqual([
      { series_id: 1, ts_min: 1, ts_max: 3, count: 3, committed_at: 1000 },
      { series_id: 2, ts_min: 5, ts_max: 5, count: 1, committed_at: 1000 },
    ])
    expect(s.counters.all()).toEqual({ readings_stored: 4, 'readings_rejected.unknown_topic': 1 })
    expect(s.deadLetters.list({ limit: 10 })).toEqual([
      { id: 1, receivedAt: 9, topic: 'sensors/x', reason: 'unknown_topic', detail: 'bad topic', payloadBytes: 11, payloadPrefix: '{"value":1}' },
    ])
    expect(s.readings.query({ sensorId: 'a', metric: 't', limit: 10, order: 'asc' })).toEqual([
      { ts: 1, value: 10 },
      { ts: 2, value: 20 },
      { ts: 3, value: 30 },
    ])
  })

  it('keeps series summaries: first/last ts, the value of the latest reading by time, the count', () => {
    s.writer.write(batch([seriesOf('a', 't', [[100, 1], [300, 3], [200, 2]])]))
    // A late arrival older than everything stored must not become the last value.
    s.writer.write(batch([seriesOf('a', 't', [[50, 0.5]])]))
    // Equal timestamps: the last to arrive wins.
    s.writer.write(batch([seriesOf('a', 't', [[300, 3.1], [300, 3.2]])]))
    expect(s.readings.listSeries()).toEqual([{ sensorId: 'a', metric: 't', firstTs: 50, lastTs: 300, lastValue: 3.2, readingCount: 6 }])
  })

  it('a rolled-back commit leaves nothing behind and the next commit still works (series id cache reset)', () => {
    const poisoned: DeadLetter = { receivedAt: 1, topic: undefined as unknown as string, reason: 'malformed_json', detail: 'x', payload: Buffer.alloc(0) }
    expect(() => s.writer.write(batch([seriesOf('new', 'm', [[1, 1]])], [poisoned]))).toThrow()
    expect(s.db.prepare('SELECT count(*) AS n FROM series').get()).toEqual({ n: 0 })
    expect(s.counters.all()).toEqual({})
    s.writer.write(batch([seriesOf('new', 'm', [[2, 2]])]))
    expect(s.readings.query({ sensorId: 'new', metric: 'm', limit: 10, order: 'asc' })).toEqual([{ ts: 2, value: 2 }])
  })

  it('answers queries across overlapping chunks: from/to inclusive, limit, asc and desc', () => {
    s.writer.write(batch([seriesOf('a', 't', [[10, 1], [30, 3], [50, 5]])]))
    s.writer.write(batch([seriesOf('a', 't', [[20, 2], [40, 4], [60, 6]])]))
    s.writer.write(batch([seriesOf('a', 't', [[5, 0.5], [55, 5.5]])]))
    const q = (rest: Omit<ReadingsQuery, 'sensorId' | 'metric'>) => s.readings.query({ sensorId: 'a', metric: 't', ...rest }).map((r) => r.ts)
    expect(q({ limit: 100, order: 'asc' })).toEqual([5, 10, 20, 30, 40, 50, 55, 60])
    expect(q({ limit: 100, order: 'desc' })).toEqual([60, 55, 50, 40, 30, 20, 10, 5])
    expect(q({ from: 20, to: 50, limit: 100, order: 'asc' })).toEqual([20, 30, 40, 50])
    expect(q({ from: 20, to: 50, limit: 2, order: 'asc' })).toEqual([20, 30])
    expect(q({ from: 20, to: 50, limit: 2, order: 'desc' })).toEqual([50, 40])
    expect(q({ from: 21, to: 29, limit: 100, order: 'asc' })).toEqual([])
    expect(q({ from: 55, to: 55, limit: 100, order: 'asc' })).toEqual([55])
    expect(s.readings.query({ sensorId: 'nobody', metric: 't', limit: 10, order: 'asc' })).toEqual([])
  })

  it('property: any commits and any query give the reference answer', () => {
    const commitArb = fc.array(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 8 })
    const queryArb = fc.record({
      from: fc.option(fc.integer({ min: -10, max: 410 }), { nil: undefined }),
      to: fc.option(fc.integer({ min: -10, max: 410 }), { nil: undefined }),
      limit: fc.integer({ min: 1, max: 60 }),
      order: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
    })
    fc.assert(
      fc.property(commitArb, fc.array(queryArb, { minLength: 1, maxLength: 10 }), (commits, queries) => {
        const stores = openStores()
        try {
          // Distinct timestamps (value = ts) so that the expected answer is unique.
          const seen = new Set<number>()
          const all: StoredReading[] = []
          for (const commit of commits) {
            const fresh = commit.filter((ts) => !seen.has(ts) && seen.add(ts))
            if (fresh.length === 0) continue
            stores.writer.write(batch([seriesOf('p', 'm', fresh.map((ts) => [ts, ts * 10]))]))
            all.push(...fresh.map((ts) => ({ ts, value: ts * 10 })))
          }
          for (const query of queries) {
            expect(stores.readings.query({ sensorId: 'p', metric: 'm', ...query })).toEqual(model(all, query))
          }
        } finally {
          stores.db.close()
        }
      }),
      { numRuns: 150 },
    )
  })

  it('dead letters: filter by reason, newest first, limit, payload prefix capped at 1 KiB, prune keeps the newest', () => {
    const letters: DeadLetter[] = []
    for (let i = 0; i < 5; i++) letters.push({ receivedAt: i, topic: `sensors/t${i}`, reason: i % 2 ? 'malformed_json' : 'invalid_value', detail: `d${i}`, payload: Buffer.alloc(2000 + i, 0x61) })
    s.writer.write(batch([], letters))
    expect(s.deadLetters.list({ limit: 10 }).map((d) => d.topic)).toEqual(['sensors/t4', 'sensors/t3', 'sensors/t2', 'sensors/t1', 'sensors/t0'])
    expect(s.deadLetters.list({ reason: 'malformed_json', limit: 10 }).map((d) => d.topic)).toEqual(['sensors/t3', 'sensors/t1'])
    expect(s.deadLetters.list({ limit: 2 })).toHaveLength(2)
    const first = s.deadLetters.list({ limit: 1 })[0]
    expect(first?.payloadBytes).toBe(2004)
    expect(first?.payloadPrefix.length).toBe(1024)
    expect(s.deadLetters.countByReason()).toEqual({ malformed_json: 2, invalid_value: 3 })
    expect(s.deadLetters.prune(2)).toBe(3)
    expect(s.deadLetters.list({ limit: 10 }).map((d) => d.topic)).toEqual(['sensors/t4', 'sensors/t3'])
    expect(s.deadLetters.prune(2)).toBe(0)
  })
})
