import type { Statement } from 'better-sqlite3'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

/** A sealed batch as the outbox keeps it (migration 3, `outbox_batches`). */
export interface OutboxBatch {
  seq: number
  tsMin: number
  tsMax: number
  readingCount: number
  byteSize: number
  bytes: Buffer
  sealedAt: number
}

/** Where one series' readings sit inside a sealed batch. */
export interface BatchSeriesEntry {
  seriesId: number
  tsMin: number
  tsMax: number
  count: number
}

export interface NewOutboxBatch extends OutboxBatch {
  series: BatchSeriesEntry[]
}

export interface OutboxCounts {
  /** Sealed batches the hub has not confirmed. */
  pendingBatches: number
  pendingReadings: number
  pendingBytes: number
  /** Sealed batches kept after the hub confirmed them (history, pruned first under the budget). */
  uploadedBatches: number
  uploadedBytes: number
  /** The last seq the hub confirmed (0: none yet). */
  confirmedSeq: number
}

interface BatchRow {
  seq: number
  ts_min: number
  ts_max: number
  reading_count: number
  byte_size: number
  bytes: Buffer
  sealed_at: number
}

const fromRow = (r: BatchRow): OutboxBatch => ({
  seq: r.seq,
  tsMin: r.ts_min,
  tsMax: r.ts_max,
  readingCount: r.reading_count,
  byteSize: r.byte_size,
  bytes: r.bytes,
  sealedAt: r.sealed_at,
})

interface CountsRow {
  pendingBatches: number
  pendingReadings: number | null
  pendingBytes: number | null
  uploadedBatches: number
  uploadedBytes: number | null
}

const CONFIRMED_SEQ = 'confirmed_seq'
const ACKED_SEQ = 'acked_seq'

/**
 * The outbox tables: sealed batches (codec bytes) with their series index and
 * the last seq the hub confirmed. Writes that must agree with other tables
 * (sealing deletes raw chunks, retention updates counters) run inside the
 * caller's transaction; `markUploaded` is its own.
 */
export class OutboxStore {
  readonly #db: SqliteDatabase
  readonly #nextSeq: Statement<[], { seq: number | null }>
  readonly #insert: Statement<[number, number, number, number, number, Buffer, number]>
  readonly #insertSeries: Statement<[number, number, number, number, number]>
  readonly #firstUnsent: Statement<[number], BatchRow>
  readonly #markUploaded: Statement<[number, number]>
  readonly #getState: Statement<[string], { value: number }>
  readonly #setState: Statement<[string, number]>
  readonly #counts: Statement<[], CountsRow>
  readonly #forSeries: Statement<[number, number, number], { seq: number; s_min: number; s_max: number }>
  readonly #bySeq: Statement<[number], BatchRow>
  readonly #reopenAfter: Statement<[number]>
  readonly #refuse: Statement<[number, number]>
  readonly #markUploadedTx: (seq: number, at: number) => void

  constructor(db: SqliteDatabase) {
    this.#db = db
    // AUTOINCREMENT keeps the high-water mark in sqlite_sequence, so a seq
    // freed by pruning is never handed out again (the hub dedups by seq).
    this.#nextSeq = db.prepare("SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'outbox_batches') AS seq")
    this.#insert = db.prepare(
      'INSERT INTO outbox_batches (seq, ts_min, ts_max, reading_count, byte_size, bytes, sealed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.#insertSeries = db.prepare('INSERT INTO outbox_batch_series (seq, series_id, ts_min, ts_max, count) VALUES (?, ?, ?, ?, ?)')
    this.#firstUnsent = db.prepare('SELECT * FROM outbox_batches WHERE uploaded_at IS NULL AND seq > ? ORDER BY seq LIMIT 1')
    this.#markUploaded = db.prepare('UPDATE outbox_batches SET uploaded_at = ? WHERE seq = ?')
    this.#getState = db.prepare('SELECT value FROM outbox_state WHERE name = ?')
    this.#setState = db.prepare('INSERT INTO outbox_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
    this.#counts = db.prepare(
      `SELECT count(*) - count(uploaded_at) AS pendingBatches,
              sum(CASE WHEN uploaded_at IS NULL THEN reading_count END) AS pendingReadings,
              sum(CASE WHEN uploaded_at IS NULL THEN byte_size END) AS pendingBytes,
              count(uploaded_at) AS uploadedBatches,
              sum(CASE WHEN uploaded_at IS NOT NULL THEN byte_size END) AS uploadedBytes
       FROM outbox_batches`,
    )
    this.#forSeries = db.prepare(
      `SELECT seq, ts_min AS s_min, ts_max AS s_max FROM outbox_batch_series
       WHERE series_id = ? AND ts_max >= ? AND ts_min <= ?`,
    )
    this.#bySeq = db.prepare('SELECT * FROM outbox_batches WHERE seq = ?')
    this.#reopenAfter = db.prepare('UPDATE outbox_batches SET uploaded_at = NULL WHERE seq > ? AND refused = 0')
    this.#refuse = db.prepare('UPDATE outbox_batches SET uploaded_at = ?, refused = 1 WHERE seq = ?')
    this.#markUploadedTx = db.transaction((seq: number, at: number) => {
      this.#markUploaded.run(at, seq)
      if (seq > this.confirmedSeq()) this.#setState.run(CONFIRMED_SEQ, seq)
      // The highest seq the hub ever acknowledged, across epochs: what the stream marker compares (stream-epochs.ts).
      if (seq > (this.#getState.get(ACKED_SEQ)?.value ?? 0)) this.#setState.run(ACKED_SEQ, seq)
    })
  }

  /** The seq the next sealed batch gets. Call inside the sealing transaction. */
  nextSeq(): number {
    return (this.#nextSeq.get()?.seq ?? 0) + 1
  }

  /** Stores a sealed batch and its series index. Call inside a write transaction. */
  insert(batch: NewOutboxBatch): void {
    this.#insert.run(batch.seq, batch.tsMin, batch.tsMax, batch.readingCount, batch.byteSize, batch.bytes, batch.sealedAt)
    for (const s of batch.series) this.#insertSeries.run(batch.seq, s.seriesId, s.tsMin, s.tsMax, s.count)
  }

  /** The oldest batch the hub has not confirmed, after `afterSeq`. */
  firstUnsent(afterSeq = 0): OutboxBatch | undefined {
    const row = this.#firstUnsent.get(afterSeq)
    return row && fromRow(row)
  }

  get(seq: number): OutboxBatch | undefined {
    const row = this.#bySeq.get(seq)
    return row && fromRow(row)
  }

  /** Records the hub's 200 for `seq` (one transaction with the confirmed seq). */
  markUploaded(seq: number, at: number): void {
    this.#markUploadedTx(seq, at)
  }

  /**
   * The hub refused `seq` for good (corrupt, too large): it is marked done so
   * the outbox moves on. The caller counts its readings as dropped.
   */
  markRefused(seq: number, at: number): void {
    this.#refuse.run(at, seq)
  }

  /**
   * The hub's last seq is behind what the edge thinks it confirmed (the hub
   * lost data): take the hub's word and send again every batch after it that
   * is still here.
   */
  resyncTo(hubLastSeq: number): number {
    return this.#db.transaction(() => {
      this.#setState.run(CONFIRMED_SEQ, hubLastSeq)
      return this.#reopenAfter.run(hubLastSeq).changes
    })()
  }

  confirmedSeq(): number {
    return this.#getState.get(CONFIRMED_SEQ)?.value ?? 0
  }

  counts(): OutboxCounts {
    const c = this.#counts.get() as CountsRow
    return {
      pendingBatches: c.pendingBatches,
      pendingReadings: c.pendingReadings ?? 0,
      pendingBytes: c.pendingBytes ?? 0,
      uploadedBatches: c.uploadedBatches,
      uploadedBytes: c.uploadedBytes ?? 0,
      confirmedSeq: this.confirmedSeq(),
    }
  }

  /** Sealed batches holding readings of `seriesId` between `from` and `to` (inclusive), with that series' bounds in each. */
  batchesForSeries(seriesId: number, from: number, to: number): { seq: number; tsMin: number; tsMax: number }[] {
    return this.#forSeries.all(seriesId, from, to).map((r) => ({ seq: r.seq, tsMin: r.s_min, tsMax: r.s_max }))
  }
}
