import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'
import { ContentSha256Schema, StreamEpochSchema } from './upload-stream.js'

/**
 * One sealed telemetry batch from the edge's outbox. The body is the codec's
 * bytes (application/octet-stream; shared/telemetry-batch, docs/formats/batch.md),
 * so the exchange has no JSON body schema; the query says what the edge dropped,
 * the stream epoch and the body's sha256 (shared/protocol/upload-stream.ts).
 */
export const TELEMETRY_BATCHES_PATH = '/v1/telemetry/batches'

export const BatchUploadQuery = Type.Object(
  {
    previousSeq: Type.Optional(
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The last seq the hub confirmed to this device: batches between it and this one were dropped at the edge (a declared gap)' }),
    ),
    droppedReadings: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Readings the device dropped before upload (its lifetime total; the hub keeps the largest reported)' })),
    epoch: Type.Optional(StreamEpochSchema),
    contentSha256: Type.Optional(ContentSha256Schema),
  },
  { additionalProperties: false },
)
export type BatchUploadQuery = Static<typeof BatchUploadQuery>

export const BatchUploadAnswer = Type.Object({
  seq: Type.Integer({ minimum: 0, description: 'The batch seq (from the batch header)' }),
  duplicate: Type.Boolean({ description: 'true: the hub already holds this content (same sha256, from this device, in any epoch); nothing stored again' }),
  readings: Type.Integer({ minimum: 0, description: 'Readings in the batch' }),
  lastSeq: Type.Integer({ minimum: 0, description: 'The last seq the hub holds for this device in this stream epoch' }),
})
export type BatchUploadAnswer = Static<typeof BatchUploadAnswer>

export const batchUploadExchange = defineExchange({ name: 'telemetry batch upload', method: 'POST', path: TELEMETRY_BATCHES_PATH, status: 200, body: null, answer: BatchUploadAnswer })
