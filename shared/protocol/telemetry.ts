import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'

/**
 * One sealed telemetry batch from the edge's outbox. The body is the codec's
 * bytes (application/octet-stream; shared/telemetry-batch, docs/formats/batch.md),
 * so the exchange has no JSON body schema; the query says what the edge dropped.
 */
export const TELEMETRY_BATCHES_PATH = '/v1/telemetry/batches'

export const BatchUploadQuery = Type.Object(
  {
    previousSeq: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The last seq the hub confirmed to this device: batches between it and this one were dropped at the edge (a declared gap)' }),
    ),
    droppedReadings: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Readings the device dropped before upload (its lifetime total; the hub keeps the largest reported)' })),
  },
  { additionalProperties: false },
)
export type BatchUploadQuery = Static<typeof BatchUploadQuery>

export const BatchUploadAnswer = Type.Object({
  seq: Type.Integer({ minimum: 0, description: 'The batch seq (from the batch header)' }),
  duplicate: Type.Boolean({ description: 'true: this (device, seq) was already stored; nothing stored again' }),
  readings: Type.Integer({ minimum: 0, description: 'Readings in the batch' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'The last seq the hub holds for this device' }),
})
export type BatchUploadAnswer = Static<typeof BatchUploadAnswer>

export const batchUploadExchange = defineExchange({ name: 'telemetry batch upload', method: 'POST', path: TELEMETRY_BATCHES_PATH, status: 200, body: null, answer: BatchUploadAnswer })
