import { CloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { batchUploadExchange, type BatchUploadAnswer } from '../../shared/protocol/telemetry.js'
import { HubRequestError, type HubClient } from '../hub-link/hub-client.js'
import type { CountersStore } from '../store/counters-store.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { sha256Hex } from '../../shared/protocol/upload-stream.js'
import type { OutboxStore } from './outbox-store.js'
import type { UploadStream } from './stream-epochs.js'

export interface UploadResult {
  batches: number
  readings: number
  bytes: number
  duplicates: number
  refused: number
}

export interface OutboxUploaderOptions {
  client: HubClient
  outbox: OutboxStore
  counters: CountersStore
  db: SqliteDatabase
  log: Logger
  /** The upload stream epoch (absent: the initial epoch, no restore detection; unit tests). */
  stream?: UploadStream
  /** Readings dropped at the edge before upload (lifetime), reported with every batch. */
  droppedReadings: () => number
  /** Test hook: runs after the hub's 200, before the edge records it (crash tests). */
  afterHubAck?: (seq: number) => void
  clock?: () => number
}

/** 409s in a row for the same batch before giving up until the next round. */
const MAX_RESYNCS = 2

/**
 * Uploads sealed batches strictly in seq order, one request per batch:
 * `POST /v1/telemetry/batches?previousSeq=P&droppedReadings=D` with the codec
 * bytes, signed by the device, with the stream epoch and the bytes' sha256.
 * The hub keys a batch by (device, epoch, seq) (the seq is inside the batch,
 * the device is the signer) and knows it by its sha256: a repeat of held
 * content answers `duplicate`, the same seq with other content 409
 * HUB_ERR_STREAM_CONFLICT, after which the edge starts a new epoch and sends
 * the batch again (stream-epochs.ts). A batch is marked
 * uploaded only after the hub's 200, so a crash between the hub's commit and
 * the edge's mark re-sends it and the hub answers `duplicate: true`.
 * `previousSeq` is the last seq the hub confirmed: batches between it and
 * this one were dropped by the edge's budget (the hub accepts the gap).
 * Network failures and 5xx are thrown (the hub link backs off and retries).
 */
export class OutboxUploader {
  readonly #options: OutboxUploaderOptions
  readonly #clock: () => number

  constructor(options: OutboxUploaderOptions) {
    this.#options = options
    this.#clock = options.clock ?? Date.now
  }

  /**
   * Uploads until nothing is pending or `shouldStop()`; throws the first
   * retryable failure. `beforeBatch` runs before each batch: the hub link
   * forwards pending alerts there, so telemetry never overtakes an alert.
   */
  async uploadPending(beforeBatch: () => Promise<void> = async () => undefined, shouldStop: () => boolean = () => false): Promise<UploadResult> {
    const { client, outbox, log } = this.#options
    const result: UploadResult = { batches: 0, readings: 0, bytes: 0, duplicates: 0, refused: 0 }
    let resyncs = 0
    let lastConflictSeq = -1
    let lastStreamConflictSeq = -1
    for (;;) {
      if (shouldStop()) return result
      await beforeBatch()
      const batch = outbox.firstUnsent()
      if (batch === undefined) return result
      const previousSeq = outbox.confirmedSeq()
      let answer: BatchUploadAnswer
      const stream = this.#options.stream
      try {
        const identity: Record<string, string> = stream === undefined ? {} : { epoch: stream.epoch, contentSha256: sha256Hex(batch.bytes) }
        answer = await client.exchange(batchUploadExchange, batch.bytes, { query: { previousSeq, droppedReadings: this.#options.droppedReadings(), ...identity } })
      } catch (err) {
        if (!(err instanceof HubRequestError) || err.kind !== 'refused') throw err
        if (err.hubCode === 'HUB_ERR_STREAM_CONFLICT' && stream !== undefined) {
          // The hub holds other content under this (epoch, seq): this database went back in time. A new epoch, then this batch again.
          if (batch.seq === lastStreamConflictSeq) throw err
          lastStreamConflictSeq = batch.seq
          stream.conflict({ seq: batch.seq, kind: 'telemetry', hub: (err.body as { details?: unknown } | undefined)?.details ?? null })
          continue
        }
        if (err.hubCode === 'TELEMETRY_ERR_SEQ_OUT_OF_ORDER') {
          const hubLastSeq = Number((err.body as { details?: { lastSeq?: unknown } } | undefined)?.details?.lastSeq)
          if (!Number.isInteger(hubLastSeq) || (batch.seq === lastConflictSeq && ++resyncs > MAX_RESYNCS)) throw err
          lastConflictSeq = batch.seq
          this.#resync(batch.seq, batch.readingCount, hubLastSeq, previousSeq)
          continue
        }
        if (err.hubCode === 'TELEMETRY_ERR_BATCH_INVALID' || err.hubCode === 'TELEMETRY_ERR_BATCH_TOO_LARGE') {
          // Re-sending the same bytes cannot succeed: count its readings and move on.
          this.#refuse(batch.seq, batch.readingCount)
          const error = new CloudosError('OUTBOX_ERR_HUB_REFUSED', `the hub refused batch ${batch.seq} (${batch.readingCount} readings): ${err.message}`, { seq: batch.seq, hubCode: err.hubCode })
          log.error(error.message, { code: error.code })
          result.refused++
          continue
        }
        throw err
      }
      this.#options.afterHubAck?.(batch.seq)
      outbox.markUploaded(batch.seq, this.#clock())
      this.#options.stream?.acknowledged()
      result.batches++
      result.readings += batch.readingCount
      result.bytes += batch.byteSize
      if (answer.duplicate) result.duplicates++
    }
  }

  #refuse(seq: number, readings: number): void {
    const { db, outbox, counters } = this.#options
    db.transaction(() => {
      outbox.markRefused(seq, this.#clock())
      counters.add('readings_dropped.refused', readings)
    })()
  }

  /** The hub's sequence differs from ours (docs/architecture.md, "Outbox"): follow the hub. */
  #resync(seq: number, readings: number, hubLastSeq: number, previousSeq: number): void {
    const { outbox, log } = this.#options
    const reopened = outbox.resyncTo(hubLastSeq)
    log.warn(
      new CloudosError(
        'OUTBOX_ERR_SEQ_CONFLICT',
        `the hub's last telemetry batch is ${hubLastSeq}, the edge expected ${previousSeq}: re-sending the ${reopened} batches after ${hubLastSeq} still held`,
      ).message,
      { code: 'OUTBOX_ERR_SEQ_CONFLICT' },
    )
    // This batch is older than what the hub holds but the hub does not have
    // it: it can never be accepted in order.
    if (seq <= hubLastSeq) this.#refuse(seq, readings)
  }
}
