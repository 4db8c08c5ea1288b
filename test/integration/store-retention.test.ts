import { afterEach, describe, expect, it } from 'vitest'
import type { CommitBatch } from '../../edge/ingest/ingest-pipeline.js'
import { CommitWriter } from '../../edge/store/commit-writer.js'
import { CountersStore } from '../../edge/store/counters-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { databaseSizeBytes, type SqliteDatabase } from '../../shared/sqlite/database.js'
import { DeadLetterStore } from '../../edge/store/dead-letter-store.js'
import { ReadingsStore } from '../../edge/store/readings-store.js'
import { RetentionJob } from '../../edge/store/retention.js'
import { startTestEdge, type TestEdge } from '../harness/in-process-edge.js'
import { getJson, getStats, type ReadingsBody } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

const DAY = 24 * 3600_000
const NOW = Date.UTC(2026, 5, 1)

function openStore(dataDir: string) {
  const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
  const readings = new ReadingsStore(db)
  const deadLetters = new DeadLetterStore(db)
  const counters = new CountersStore(db)
  const writer = new CommitWriter({ db, readings, deadLetters, counters })
  const retention = new RetentionJob(db, counters, deadLetters, () => NOW)
  return { db, readings, deadLetters, counters, writer, retention }
}

/** One commit holding `count` readings of one series, at `startTs`, `startTs + step`, ... */
function commitSeries(writer: CommitWriter, sensorId: string, startTs: number, count: number, step = 1): void {
  const timestamps = Array.from({ length: count }, (_, i) => startTs + i * step)
  const batch: CommitBatch = {
    series: [{ key: { sensorId, metric: 'm' }, timestamps, values: timestamps.map((t) => t % 1000) }],
    deadLetters: [],
    readingCount: count,
    rejectedByReason: {},
  }
  writer.write(batch)
}

function chunkCount(db: SqliteDatabase): number {
  return (db.prepare('SELECT count(*) AS n FROM reading_chunks').get() as { n: number }).n
}

describe('RetentionJob.run', () => {
  let opened: SqliteDatabase | undefined
  afterEach(() => {
    opened?.close()
    opened = undefined
  })

  it('deletes whole chunks older than retentionDays, keeps newer and straddling ones, and counts what it deleted', () => {
    const store = openStore(useTempDir())
    opened = store.db
    commitSeries(store.writer, 'old', NOW - 40 * DAY, 100) // all older than 30 days
    commitSeries(store.writer, 'old', NOW - 35 * DAY, 50)
    commitSeries(store.writer, 'edge', NOW - 30 * DAY - 10, 20) // straddles the cutoff: its newest reading is inside
    commitSeries(store.writer, 'new', NOW - DAY, 10)
    const result = store.retention.run({ retentionDays: 30, maxBytes: 1 << 30, deadLetterMaxRows: 1000 })
    expect(result).toMatchObject({ chunksDeletedByAge: 2, readingsDeletedByAge: 150, chunksDeletedByBudget: 0, readingsDeletedByBudget: 0 })
    expect(chunkCount(store.db)).toBe(2)
    expect(store.readings.query({ sensorId: 'old', metric: 'm', limit: 1000, order: 'asc' })).toEqual([])
    expect(store.readings.query({ sensorId: 'edge', metric: 'm', limit: 1000, order: 'asc' })).toHaveLength(20)
    expect(store.readings.query({ sensorId: 'new', metric: 'm', limit: 1000, order: 'asc' })).toHaveLength(10)
    expect(store.counters.all()['readings_deleted.age']).toBe(150)
    // Idempotent.
    expect(store.retention.run({ retentionDays: 30, maxBytes: 1 << 30, deadLetterMaxRows: 1000 }).chunksDeletedByAge).toBe(0)
  })

  it('retentionDays 0 keeps everything', () => {
    const store = openStore(useTempDir())
    opened = store.db
    commitSeries(store.writer, 'ancient', NOW - 3000 * DAY, 10)
    expect(store.retention.run({ retentionDays: 0, maxBytes: 1 << 30, deadLetterMaxRows: 1000 }).chunksDeletedByAge).toBe(0)
    expect(chunkCount(store.db)).toBe(1)
  })

  it('deletes more than one delete step (500 chunks) of old data in one run', () => {
    const store = openStore(useTempDir())
    opened = store.db
    for (let i = 0; i < 1200; i++) commitSeries(store.writer, `s${i % 7}`, NOW - 100 * DAY + i, 1)
    const result = store.retention.run({ retentionDays: 30, maxBytes: 1 << 30, deadLetterMaxRows: 1000 })
    expect(result.chunksDeletedByAge).toBe(1200)
    expect(chunkCount(store.db)).toBe(0)
  })

  it('keeps the database under the byte budget by deleting the oldest chunks first', () => {
    const store = openStore(useTempDir())
    opened = store.db
    // 40 commits of 4,000 readings (64 KB of columns each): about 2.6 MB, oldest first.
    for (let i = 0; i < 40; i++) commitSeries(store.writer, `s${i % 3}`, NOW - DAY + i * 10_000, 4000, 1)
    const before = databaseSizeBytes(store.db)
    expect(before).toBeGreaterThan(2_400_000)
    const budget = 1024 * 1024
    const result = store.retention.run({ retentionDays: 0, maxBytes: budget, deadLetterMaxRows: 1000 })
    expect(result.sizeBytesBefore).toBe(before)
    expect(result.sizeBytesAfter).toBeLessThanOrEqual(budget)
    expect(databaseSizeBytes(store.db)).toBeLessThanOrEqual(budget)
    expect(result.chunksDeletedByBudget).toBeGreaterThan(20)
    expect(result.readingsDeletedByBudget).toBe(result.chunksDeletedByBudget * 4000)
    expect(store.counters.all()['readings_deleted.budget']).toBe(result.readingsDeletedByBudget)
    // The oldest went first: what remains is exactly the newest chunks.
    const remaining = (store.db.prepare('SELECT ts_min FROM reading_chunks ORDER BY ts_min').all() as { ts_min: number }[]).map((r) => r.ts_min)
    const expected = Array.from({ length: 40 }, (_, i) => NOW - DAY + i * 10_000).slice(40 - remaining.length)
    expect(remaining).toEqual(expected)
    // And it did not delete much more than needed: at most ~2 chunks' worth under budget.
    expect(result.sizeBytesAfter).toBeGreaterThan(budget - 3 * 64_000 - 64 * 1024)
  })

  it('hands freed pages back to the file system (incremental vacuum)', () => {
    const store = openStore(useTempDir())
    opened = store.db
    for (let i = 0; i < 20; i++) commitSeries(store.writer, 'big', NOW - 50 * DAY + i, 4000)
    store.db.pragma('wal_checkpoint(TRUNCATE)')
    const pagesBefore = store.db.pragma('page_count', { simple: true }) as number
    store.retention.run({ retentionDays: 30, maxBytes: 1 << 30, deadLetterMaxRows: 1000 })
    const pagesAfter = store.db.pragma('page_count', { simple: true }) as number
    expect(pagesAfter).toBeLessThan(pagesBefore / 4)
    expect(store.db.pragma('freelist_count', { simple: true })).toBe(0)
  })

  it('prunes dead letters to deadLetterMaxRows, newest kept', () => {
    const store = openStore(useTempDir())
    opened = store.db
    store.writer.write({
      series: [],
      deadLetters: Array.from({ length: 30 }, (_, i) => ({ receivedAt: i, topic: `sensors/${i}`, reason: 'unknown_topic' as const, detail: '', payload: Buffer.from('x') })),
      readingCount: 0,
      rejectedByReason: { unknown_topic: 30 },
    })
    const result = store.retention.run({ retentionDays: 0, maxBytes: 1 << 30, deadLetterMaxRows: 10 })
    expect(result.deadLettersPruned).toBe(20)
    expect(store.deadLetters.list({ limit: 100 }).map((d) => d.receivedAt)).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20])
  })
})

describe('retention on a node-cron schedule in the running edge', () => {
  let edge: TestEdge | undefined
  afterEach(async () => {
    await edge?.stop()
    edge = undefined
  })

  it('runs every second with a 6-field cron expression and deletes readings older than retentionDays', async () => {
    edge = await startTestEdge({
      config: {
        storage: { retentionSchedule: '* * * * * *', retentionDays: 2 },
        ingest: { maxPastAgeMs: 10 * DAY },
      },
    })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const now = Date.now()
      const old = { readings: Array.from({ length: 25 }, (_, i) => ({ ts: now - 5 * DAY + i, value: i })) }
      const recent = { readings: Array.from({ length: 5 }, (_, i) => ({ ts: now - 1000 + i, value: i })) }
      await client.publishAsync('sensors/old-sensor/temp', JSON.stringify(old), { qos: 1 })
      await client.publishAsync('sensors/new-sensor/temp', JSON.stringify(recent), { qos: 1 })
    } finally {
      await closeQuietly(client)
    }
    const base = edge.endpoints.httpUrl
    const stats = await waitFor(
      async () => {
        const s = await getStats(base)
        return s.lifetime['readings_deleted.age'] === 25 ? s : undefined
      },
      { timeoutMs: 5000, what: 'the scheduled retention to delete the 25 old readings' },
    )
    expect(stats.lifetime.readings_stored).toBe(30)
    const old = await getJson<ReadingsBody>(base, '/v1/readings?sensor=old-sensor&metric=temp')
    expect(old.body.count).toBe(0)
    const recent = await getJson<ReadingsBody>(base, '/v1/readings?sensor=new-sensor&metric=temp')
    expect(recent.body.count).toBe(5)
  })

  it('/v1/sensors agrees with /v1/readings after retention deleted a series\' readings', async () => {
    edge = await startTestEdge({
      config: { storage: { retentionSchedule: '* * * * * *', retentionDays: 2 }, ingest: { maxPastAgeMs: 10 * DAY } },
    })
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    try {
      const now = Date.now()
      await client.publishAsync('sensors/gone/temp', JSON.stringify({ readings: [{ ts: now - 5 * DAY, value: 1 }, { ts: now - 5 * DAY + 1, value: 2 }] }), { qos: 1 })
    } finally {
      await closeQuietly(client)
    }
    const base = edge.endpoints.httpUrl
    await waitFor(async () => (await getStats(base)).lifetime['readings_deleted.age'] === 2, { timeoutMs: 5000, what: 'retention' })
    const readings = await getJson<ReadingsBody>(base, '/v1/readings?sensor=gone&metric=temp')
    expect(readings.body.count).toBe(0)
    const sensors = await getJson<{ sensors: { sensorId: string; readingCount: number; firstTs: number | null }[] }>(base, '/v1/sensors')
    const gone = sensors.body.sensors.find((x) => x.sensorId === 'gone')
    // The summary must not report readings that no longer exist.
    expect(gone?.readingCount ?? 0).toBe(readings.body.count)
  })
})
