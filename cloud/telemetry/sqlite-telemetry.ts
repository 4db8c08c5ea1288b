import type { Statement } from 'better-sqlite3'
import type { DeviceId } from '../devices/device-repository.js'
import type { TelemetryAppendOutcome, TelemetryBatchInput, TelemetryDeviceState, TelemetryRepository } from './telemetry-repository.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { INITIAL_STREAM_EPOCH } from '../../shared/protocol/upload-stream.js'

interface DeviceRow {
  device_id: string
  last_seq: number
  batches: number
  readings: number
  dropped_readings: number
  updated_at: number
}

/**
 * Telemetry batches kept as the codec bytes the device sent, one row per
 * batch plus one index row per series in it (migrations 4, 7). The key
 * (device, epoch, seq) is UNIQUE and the content sha256 indexed per device;
 * the batch, its index and the device's state commit in one IMMEDIATE transaction.
 */
export class SqliteTelemetryRepository implements TelemetryRepository {
  readonly #has: Statement<[string, string, number], { content_sha256: string | null }>
  readonly #byContent: Statement<[string, string], { one: number }>
  readonly #lastSeq: Statement<[string, string], { seq: number | null }>
  readonly #addEpoch: Statement<[string, string, number]>
  readonly #epochCount: Statement<[string], { n: number }>
  readonly #state: Statement<[string], DeviceRow>
  readonly #insertBatch: Statement<[string, string, number, string | null, number, number, number, number, Uint8Array], { id: number }>
  readonly #insertSeries: Statement<[number, string, string, string, number, number, number]>
  readonly #upsertState: Statement<[{ deviceId: string; seq: number; readings: number; dropped: number; at: number }]>
  readonly #dropped: Statement<[{ deviceId: string; dropped: number; at: number }]>
  readonly #batchesFor: Statement<[string, string, string, number, number, string | null, string | null], { seq: number; bytes: Buffer }>
  readonly #append: (batch: TelemetryBatchInput) => TelemetryAppendOutcome

  constructor(private readonly db: SqliteDatabase) {
    this.#has = db.prepare('SELECT content_sha256 FROM telemetry_batches WHERE device_id = ? AND epoch = ? AND seq = ?')
    this.#byContent = db.prepare('SELECT 1 AS one FROM telemetry_batches WHERE device_id = ? AND content_sha256 = ? LIMIT 1')
    this.#lastSeq = db.prepare('SELECT max(seq) AS seq FROM telemetry_batches WHERE device_id = ? AND epoch = ?')
    this.#addEpoch = db.prepare('INSERT OR IGNORE INTO device_stream_epochs (device_id, epoch, first_seen_at) VALUES (?, ?, ?)')
    this.#epochCount = db.prepare('SELECT count(*) AS n FROM device_stream_epochs WHERE device_id = ?')
    this.#state = db.prepare('SELECT * FROM telemetry_devices WHERE device_id = ?')
    this.#insertBatch = db.prepare(
      'INSERT INTO telemetry_batches (device_id, epoch, seq, content_sha256, ts_min, ts_max, reading_count, received_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
    )
    this.#insertSeries = db.prepare(
      'INSERT INTO telemetry_series (batch_id, device_id, sensor_id, metric, ts_min, ts_max, count) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.#upsertState = db.prepare(
      `INSERT INTO telemetry_devices (device_id, last_seq, batches, readings, dropped_readings, updated_at)
       VALUES (@deviceId, @seq, 1, @readings, @dropped, @at)
       ON CONFLICT (device_id) DO UPDATE SET last_seq = @seq, batches = batches + 1, readings = readings + @readings,
         dropped_readings = max(dropped_readings, @dropped), updated_at = @at`,
    )
    this.#dropped = db.prepare('UPDATE telemetry_devices SET dropped_readings = max(dropped_readings, @dropped), updated_at = @at WHERE device_id = @deviceId')
    this.#batchesFor = db.prepare(
      `SELECT DISTINCT b.seq AS seq, b.bytes AS bytes FROM telemetry_series s JOIN telemetry_batches b ON b.id = s.batch_id
       WHERE s.device_id = ? AND s.sensor_id = ? AND s.metric = ? AND s.ts_max >= ? AND s.ts_min <= ? AND (? IS NULL OR b.epoch != ?) ORDER BY b.id`,
    )
    const append = db.transaction((batch: TelemetryBatchInput): TelemetryAppendOutcome => {
      const epoch = batch.epoch ?? INITIAL_STREAM_EPOCH
      const hash = batch.contentSha256 ?? null
      const state = this.#state.get(batch.deviceId)
      const lastSeq = this.#lastSeq.get(batch.deviceId, epoch)?.seq ?? 0
      const dropped = batch.droppedReadings ?? 0
      const duplicate = (): TelemetryAppendOutcome => {
        if (state !== undefined && dropped > state.dropped_readings) this.#dropped.run({ deviceId: batch.deviceId, dropped, at: batch.receivedAt })
        return { outcome: 'duplicate', lastSeq }
      }
      // Content first: a batch the hub holds is a duplicate whatever epoch or seq it comes under now.
      if (hash !== null && this.#byContent.get(batch.deviceId, hash) !== undefined) return duplicate()
      const held = this.#has.get(batch.deviceId, epoch, batch.seq)
      if (held !== undefined) {
        // A row from before content hashes (or a request without one) is known by its key alone.
        if (held.content_sha256 === null || hash === null || held.content_sha256 === hash) return duplicate()
        return { outcome: 'conflict', lastSeq, heldSha256: held.content_sha256 }
      }
      // A later epoch continues the device's seq counter: its first batch may start anywhere.
      const opensEpoch = lastSeq === 0 && epoch !== INITIAL_STREAM_EPOCH
      const inOrder = opensEpoch || batch.seq === lastSeq + 1 || (batch.seq > lastSeq && batch.previousSeq === lastSeq)
      if (!inOrder) return { outcome: 'out_of_order', lastSeq, expectedSeq: lastSeq + 1 }
      const { id } = this.#insertBatch.get(batch.deviceId, epoch, batch.seq, hash, batch.tsMin, batch.tsMax, batch.readingCount, batch.receivedAt, batch.bytes) as { id: number }
      for (const s of batch.series) this.#insertSeries.run(id, batch.deviceId, s.sensorId, s.metric, s.tsMin, s.tsMax, s.count)
      this.#upsertState.run({ deviceId: batch.deviceId, seq: batch.seq, readings: batch.readingCount, dropped, at: batch.receivedAt })
      const newEpoch = this.#addEpoch.run(batch.deviceId, epoch, batch.receivedAt).changes === 1 && (this.#epochCount.get(batch.deviceId)?.n ?? 0) > 1
      return newEpoch ? { outcome: 'stored', lastSeq: batch.seq, newEpoch: true } : { outcome: 'stored', lastSeq: batch.seq }
    })
    this.#append = (batch) => append.immediate(batch)
  }

  async has(deviceId: DeviceId, seq: number, epoch = INITIAL_STREAM_EPOCH): Promise<boolean> {
    return this.#has.get(deviceId, epoch, seq) !== undefined
  }

  async append(batch: TelemetryBatchInput): Promise<TelemetryAppendOutcome> {
    return this.#append(batch)
  }

  async batchesFor(query: { deviceId: DeviceId; sensorId: string; metric: string; from: number; to: number; exceptEpoch?: string }): Promise<{ seq: number; bytes: Uint8Array }[]> {
    const except = query.exceptEpoch ?? null
    return this.#batchesFor.all(query.deviceId, query.sensorId, query.metric, query.from, query.to, except, except)
  }

  async epochsOf(deviceId: DeviceId): Promise<string[]> {
    return this.db.prepare('SELECT epoch FROM device_stream_epochs WHERE device_id = ? ORDER BY first_seen_at, epoch').pluck().all(deviceId) as string[]
  }

  async deviceState(deviceId: DeviceId): Promise<TelemetryDeviceState | undefined> {
    const row = this.#state.get(deviceId)
    return (
      row && {
        deviceId: row.device_id as DeviceId,
        lastSeq: row.last_seq,
        batches: row.batches,
        readings: row.readings,
        droppedReadings: row.dropped_readings,
        updatedAt: row.updated_at,
      }
    )
  }
}
