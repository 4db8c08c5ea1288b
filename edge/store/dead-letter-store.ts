import type { Statement } from 'better-sqlite3'
import type { RejectReason } from '../../shared/telemetry.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

/** How much of a rejected payload is kept for diagnosis. */
export const DEAD_LETTER_PAYLOAD_PREFIX_BYTES = 1024

export interface DeadLetter {
  receivedAt: number
  topic: string
  reason: RejectReason
  /** What exactly was wrong, e.g. "readings[3].value is a string". */
  detail: string
  payload: Buffer
}

export interface StoredDeadLetter {
  id: number
  receivedAt: number
  topic: string
  reason: RejectReason
  detail: string
  payloadBytes: number
  /** The first bytes of the payload as text (lossy for binary payloads). */
  payloadPrefix: string
}

/** Rejected telemetry, kept for operators to inspect (bounded, oldest pruned). */
export class DeadLetterStore {
  readonly #db: SqliteDatabase
  readonly #insert: Statement<[number, string, string, string, Buffer, number]>

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#insert = db.prepare(
      'INSERT INTO dead_letters (received_at, topic, reason, detail, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?)',
    )
  }

  /** Call inside a write transaction. */
  append(letter: DeadLetter): void {
    const prefix = letter.payload.subarray(0, DEAD_LETTER_PAYLOAD_PREFIX_BYTES)
    this.#insert.run(letter.receivedAt, letter.topic.slice(0, 1024), letter.reason, letter.detail, prefix, letter.payload.byteLength)
  }

  list(options: { reason?: RejectReason; limit: number }): StoredDeadLetter[] {
    const where = options.reason === undefined ? '' : 'WHERE reason = @reason'
    const rows = this.#db
      .prepare(
        `SELECT id, received_at, topic, reason, detail, payload, payload_bytes FROM dead_letters ${where}
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({ reason: options.reason, limit: options.limit }) as {
      id: number
      received_at: number
      topic: string
      reason: RejectReason
      detail: string
      payload: Buffer | null
      payload_bytes: number
    }[]
    return rows.map((r) => ({
      id: r.id,
      receivedAt: r.received_at,
      topic: r.topic,
      reason: r.reason,
      detail: r.detail,
      payloadBytes: r.payload_bytes,
      payloadPrefix: r.payload === null ? '' : r.payload.toString('utf8'),
    }))
  }

  countByReason(): Record<string, number> {
    const rows = this.#db.prepare('SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason').all() as { reason: string; n: number }[]
    return Object.fromEntries(rows.map((r) => [r.reason, r.n]))
  }

  /** Keeps the newest `maxRows` dead letters; returns how many were pruned. */
  prune(maxRows: number): number {
    const newest = this.#db.prepare('SELECT id FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET ?').get(maxRows) as { id: number } | undefined
    if (newest === undefined) return 0
    return this.#db.prepare('DELETE FROM dead_letters WHERE id <= ?').run(newest.id).changes
  }
}
