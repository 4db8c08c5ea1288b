import { describe, expect, it } from 'vitest'
import { Value } from '@sinclair/typebox/value'
import { OutboxConfigSchema, type OutboxConfig } from '../../shared/config/edge-config-schema.js'
import { openEdgeStores, type EdgeStores } from '../../bench/sync/edge-stores.js'
import { writeSimulatedBacklog } from '../../bench/sync/simulated-backlog.js'
import { decodeBatch } from '../../shared/telemetry-batch/index.js'
import { databaseSizeBytes } from '../../shared/sqlite/database.js'
import { useTempDir } from '../helpers/temp-dir.js'

const MINUTE = 60_000
const START = Date.UTC(2026, 10, 20, 0, 0, 0)

function outboxConfig(overrides: Partial<OutboxConfig> = {}): OutboxConfig {
  return { ...(Value.Default(OutboxConfigSchema, {}) as OutboxConfig), ...overrides }
}

function openStores(overrides: Partial<OutboxConfig> = {}): EdgeStores {
  return openEdgeStores(useTempDir('cloudos-outbox-'), outboxConfig(overrides))
}

/** Everything the local query API answers for a series, oldest first. */
const allReadings = (stores: EdgeStores, sensorId: string, metric: string) => stores.readings.query({ sensorId, metric, limit: 10_000_000, order: 'asc' })

const rawChunkCount = (stores: EdgeStores) => (stores.db.prepare('SELECT count(*) AS n FROM reading_chunks').get() as { n: number }).n
const rawReadingCount = (stores: EdgeStores) => (stores.db.prepare('SELECT coalesce(sum(count), 0) AS n FROM reading_chunks').get() as { n: number }).n

describe('outbox sealing', () => {
  it('seals closed windows into codec batches, deletes their raw chunks in the same transaction, and the local API still answers bit-exactly', () => {
    const stores = openStores({ windowMs: 5 * MINUTE, sealDelayMs: 30_000 })
    try {
      // 17 minutes of 4 sensors at 10/s, committed every 2 s, no sealing yet.
      const fed = writeSimulatedBacklog(
        { commit: stores.sink.commit, seal: () => undefined },
        { sensors: 4, readingsPerSecond: 10, start: START, durationMs: 17 * MINUTE, seed: 3, commitEveryMs: 2000, sealEveryMs: Infinity },
      )
      const before = new Map([...fed.perSeries.keys()].map((key) => [key, allReadings(stores, ...(key.split('/') as [string, string]))]))
      expect(fed.readings).toBeGreaterThan(40_000)

      // At START + 17 min, windows [0,5), [5,10), [10,15) minutes are closed; [15,20) is open.
      const sealed = stores.outbox.seal(START + 17 * MINUTE)
      expect(sealed.batches).toBe(3)
      const batches = stores.db.prepare('SELECT seq, ts_min, ts_max, reading_count, bytes FROM outbox_batches ORDER BY seq').all() as { seq: number; ts_min: number; ts_max: number; reading_count: number; bytes: Buffer }[]
      expect(batches.map((b) => b.seq)).toEqual([1, 2, 3])
      for (const [i, b] of batches.entries()) {
        expect(b.ts_min).toBeGreaterThanOrEqual(START + i * 5 * MINUTE)
        expect(b.ts_max).toBeLessThan(START + (i + 1) * 5 * MINUTE)
        const decoded = decodeBatch(b.bytes)
        expect(decoded.seq).toBe(b.seq)
        expect(decoded.series.reduce((n, s) => n + s.timestamps.length, 0)).toBe(b.reading_count)
      }
      // Raw chunks left: only the open window's.
      const sealedReadings = batches.reduce((n, b) => n + b.reading_count, 0)
      expect(sealedReadings + rawReadingCount(stores)).toBe(fed.readings)
      expect((stores.db.prepare('SELECT min(ts_min) AS m FROM reading_chunks').get() as { m: number }).m).toBeGreaterThanOrEqual(START + 15 * MINUTE)
      // Compact at rest: simulator data is far below the 16 bytes/reading of raw chunks.
      const bytesPerReading = batches.reduce((n, b) => n + b.bytes.byteLength, 0) / sealedReadings
      expect(bytesPerReading).toBeLessThan(5)

      for (const [key, expected] of before) {
        const [sensorId, metric] = key.split('/') as [string, string]
        const after = allReadings(stores, sensorId, metric)
        expect(after.length).toBe(expected.length)
        expect(after).toEqual(expected)
      }
      // Limits and order across sealed and raw data.
      const [sensorId, metric] = ([...fed.perSeries.keys()][0] as string).split('/') as [string, string]
      const expected = before.get(`${sensorId}/${metric}`) as { ts: number; value: number }[]
      const from = START + 4 * MINUTE
      const to = START + 16 * MINUTE
      const inRange = expected.filter((r) => r.ts >= from && r.ts <= to)
      expect(stores.readings.query({ sensorId, metric, from, to, limit: 100, order: 'asc' })).toEqual(inRange.slice(0, 100))
      expect(stores.readings.query({ sensorId, metric, from, to, limit: 100, order: 'desc' })).toEqual(inRange.slice(-100).reverse())
      // The series summaries still count every reading.
      const summary = stores.readings.listSeries().find((s) => s.sensorId === sensorId && s.metric === metric)
      expect(summary?.readingCount).toBe(expected.length)
      expect(stores.counters.all()['readings_sealed']).toBe(sealedReadings)
    } finally {
      stores.close()
    }
  })

  it('seals a late reading for an already sealed window in a batch of its own, and queries merge it in time order', () => {
    const stores = openStores({ windowMs: MINUTE, sealDelayMs: 0 })
    try {
      const key = { sensorId: 'late-1', metric: 'temperature' }
      stores.sink.commit([{ key, timestamps: [START + 1000, START + 3000], values: [1.5, 3.5] }], 2)
      expect(stores.outbox.seal(START + 2 * MINUTE).batches).toBe(1)
      stores.sink.commit([{ key, timestamps: [START + 2000], values: [2.5] }], 1)
      expect(stores.outbox.seal(START + 2 * MINUTE).batches).toBe(1)
      expect(rawChunkCount(stores)).toBe(0)
      expect(allReadings(stores, key.sensorId, key.metric)).toEqual([
        { ts: START + 1000, value: 1.5 },
        { ts: START + 2000, value: 2.5 },
        { ts: START + 3000, value: 3.5 },
      ])
      expect(stores.outbox.store.counts()).toMatchObject({ pendingBatches: 2, pendingReadings: 3, confirmedSeq: 0 })
    } finally {
      stores.close()
    }
  })

  it('cuts a window with more readings than maxBatchReadings into several batches', () => {
    const stores = openStores({ windowMs: 10 * MINUTE, sealDelayMs: 0, maxBatchReadings: 1000 })
    try {
      const fed = writeSimulatedBacklog(stores.sink, { sensors: 3, readingsPerSecond: 10, start: START, durationMs: 2 * MINUTE, seed: 5, commitEveryMs: 1000, sealEveryMs: Infinity })
      const sealed = stores.outbox.seal(START + 20 * MINUTE)
      expect(sealed.readings).toBe(fed.readings)
      expect(sealed.batches).toBe(Math.ceil(fed.readings / 1000))
      const max = (stores.db.prepare('SELECT max(reading_count) AS m FROM outbox_batches').get() as { m: number }).m
      expect(max).toBe(1000)
      for (const key of fed.perSeries.keys()) {
        const [sensorId, metric] = key.split('/') as [string, string]
        const readings = allReadings(stores, sensorId, metric)
        expect(readings.length).toBe(fed.perSeries.get(key))
        for (let i = 1; i < readings.length; i++) expect((readings[i] as { ts: number }).ts).toBeGreaterThanOrEqual((readings[i - 1] as { ts: number }).ts)
      }
    } finally {
      stores.close()
    }
  })
})

describe('offline budget (storage.maxBytes)', () => {
  it('drops uploaded history first, then the oldest unsent batches, then raw chunks; never alerts; and counts every dropped reading', () => {
    const stores = openStores({ windowMs: 5 * MINUTE, sealDelayMs: 0 })
    try {
      // 38 minutes of 20 sensors: 7 sealed windows of 5 minutes, the last 3 minutes raw.
      writeSimulatedBacklog(stores.sink, { sensors: 20, readingsPerSecond: 10, start: START, durationMs: 38 * MINUTE, seed: 11, commitEveryMs: 5000, sealEveryMs: 5 * MINUTE })
      stores.outbox.seal(START + 35 * MINUTE) // windows 0..6 sealed; [35, 38) stays raw
      const batches = () => stores.db.prepare('SELECT seq, reading_count AS readings, uploaded_at AS uploadedAt FROM outbox_batches ORDER BY seq').all() as { seq: number; readings: number; uploadedAt: number | null }[]
      const all = batches()
      expect(all.length).toBe(7)
      // The hub confirmed the first three.
      for (const b of all.slice(0, 3)) stores.outbox.store.markUploaded(b.seq, START + 36 * MINUTE)
      const alert = stores.alerts.raise({ sensorId: 'sim-01', metric: 'temperature', severity: 'critical', rule: 'too-hot', value: 99, message: 'over 90' })
      const raw = rawReadingCount(stores)
      expect(raw).toBeGreaterThan(0)
      const policy = (maxBytes: number) => ({ retentionDays: 0, maxBytes, deadLetterMaxRows: 1000 })

      // A budget just under the current size: only uploaded history goes.
      const size = databaseSizeBytes(stores.db)
      const first = stores.retention.run(policy(size - 4096))
      expect(first.uploadedBatchesPruned).toBeGreaterThanOrEqual(1)
      expect(first.readingsDroppedUnsent).toBe(0)
      expect(batches().filter((b) => b.uploadedAt === null).length).toBe(4)

      // Under the size of what is unsent: all history goes, then the oldest unsent batches, lowest seq first.
      const unsentBatchBytes = stores.outbox.store.counts().pendingBytes / 4
      const second = stores.retention.run(policy(databaseSizeBytes(stores.db) - stores.outbox.store.counts().uploadedBytes - unsentBatchBytes * 1.5))
      const left = batches()
      expect(left.every((b) => b.uploadedAt === null)).toBe(true)
      expect(second.readingsDroppedUnsent).toBeGreaterThan(0)
      expect(left.length).toBeGreaterThan(0)
      expect(left.length).toBeLessThan(4)
      // What is left is the newest: a contiguous tail of seqs ending at 7.
      expect(left.map((b) => b.seq)).toEqual(all.slice(7 - left.length).map((b) => b.seq))
      expect(rawReadingCount(stores)).toBe(raw)

      // A tiny budget: everything but the alert goes; raw chunks last.
      stores.retention.run(policy(1024 * 1024))
      const counters = stores.counters.all()
      const uploadedReadings = all.slice(0, 3).reduce((n, b) => n + b.readings, 0)
      const unsentReadings = all.slice(3).reduce((n, b) => n + b.readings, 0)
      expect(counters['readings_pruned.uploaded']).toBe(uploadedReadings)
      // Dropped = unsent batches deleted + raw readings deleted, each counted once.
      const rawLeft = rawReadingCount(stores)
      const batchesLeft = batches().reduce((n, b) => n + b.readings, 0)
      expect(counters['readings_dropped.budget']).toBe(unsentReadings - batchesLeft + raw - rawLeft)
      expect(counters['readings_deleted.budget']).toBe(uploadedReadings + (counters['readings_dropped.budget'] as number))
      if (batchesLeft > 0) expect(rawLeft).toBe(raw) // raw chunks only after every unsent batch
      expect(stores.outbox.droppedReadings()).toBe(counters['readings_dropped.budget'])
      expect(stores.alerts.list(10).map((a) => a.seq)).toEqual([alert.seq])
      // The summaries agree with what is left.
      const counted = stores.readings.listSeries().reduce((n, s) => n + s.readingCount, 0)
      expect(counted).toBe(batchesLeft + rawLeft)
    } finally {
      stores.close()
    }
  })
})
