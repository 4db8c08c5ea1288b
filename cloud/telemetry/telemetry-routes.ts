import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { batchUploadExchange, BatchUploadQuery } from '../../shared/protocol/telemetry.js'
import { IDENTIFIER_PATTERN } from '../../shared/telemetry.js'
import { decodeBatch } from '../../shared/telemetry-batch/index.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import { INITIAL_STREAM_EPOCH, sha256Hex } from '../../shared/protocol/upload-stream.js'
import { acceptBatch, batchRecord } from './accept-batch.js'
import { withoutReadingsHeldInOtherEpochs } from './held-readings.js'
import { recordNewEpoch } from './stream-epoch-events.js'
import { downsample, seriesPoints } from './series-query.js'
import { DeviceParams } from '../devices/device-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'

const TelemetryQuery = Type.Object(
  {
    device: DeviceParams.properties.deviceId,
    sensor: Type.String({ pattern: IDENTIFIER_PATTERN.source, description: 'Sensor id' }),
    metric: Type.String({ pattern: IDENTIFIER_PATTERN.source, description: 'Metric name' }),
    from: Type.Integer({ minimum: 0, description: 'Inclusive lower bound, epoch ms' }),
    to: Type.Integer({ minimum: 0, description: 'Inclusive upper bound, epoch ms' }),
    step: Type.Optional(Type.Integer({ minimum: 1, description: 'Down-sample: min/max/avg per bucket of this many ms (omit for raw readings)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: 'Raw readings: at most this many, oldest first (default and maximum: telemetry.maxQueryPoints)' })),
  },
  { additionalProperties: false },
)

const Point = Type.Object({ ts: Type.Number(), value: Type.Number() })
const BucketSchema = Type.Object({ ts: Type.Number({ description: 'Bucket start, epoch ms' }), count: Type.Integer(), min: Type.Number(), max: Type.Number(), avg: Type.Number() })

const TelemetryAnswer = Type.Object({
  device: Type.String(),
  sensor: Type.String(),
  metric: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  step: Type.Union([Type.Integer(), Type.Null()]),
  count: Type.Integer({ description: 'Points (raw) or buckets (down-sampled) in this answer' }),
  truncated: Type.Boolean({ description: 'Raw only: more readings exist in the range than `limit`' }),
  points: Type.Optional(Type.Array(Point)),
  buckets: Type.Optional(Type.Array(BucketSchema)),
})

const DeviceTelemetryState = Type.Object({
  deviceId: Type.String(),
  lastSeq: Type.Integer({ description: 'The last batch seq stored (0: none)' }),
  batches: Type.Integer(),
  readings: Type.Integer({ description: 'Readings stored from this device' }),
  droppedReadings: Type.Integer({ description: 'Readings the device reported dropping before upload (offline budget overflow, refused batches)' }),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})

/** The parsed body of a request that is not application/octet-stream. */
const NOT_A_BATCH = Symbol('not a telemetry batch')

/** Telemetry batches uploaded by devices (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const telemetryUploadRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const limits = context.config.telemetry

  await app.register(async (signed) => {
    // The device scope parses JSON (keeping its bytes); a batch route takes every type as bytes instead.
    signed.removeAllContentTypeParsers()
    // The device signature covers the exact body bytes: keep them as received.
    signed.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: limits.maxBatchBytes }, (request, body, done) => {
      request.rawBody = body as Buffer
      done(null, body)
    })
    // A batch is binary. Other types (JSON, text, anything) are kept as bytes
    // too and refused with 415 in the handler, after the device guard: an
    // unauthenticated caller gets 401 like on every other device route.
    const notABatch = (request: { rawBody?: Buffer }, body: Buffer | string, done: (err: Error | null, body?: unknown) => void) => {
      request.rawBody = body as Buffer
      done(null, NOT_A_BATCH)
    }
    for (const type of ['application/json', 'text/plain', '*']) signed.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limits.maxBatchBytes }, notABatch)
    signed.post<{ Querystring: BatchUploadQuery; Body: Buffer | typeof NOT_A_BATCH }>(
      batchUploadExchange.path,
      {
        bodyLimit: limits.maxBatchBytes,
        schema: {
          tags: ['telemetry'],
          summary:
            'Upload one telemetry batch (codec bytes, application/octet-stream; signed device request), keyed by (device, epoch, seq) and known by its sha256 (contentSha256, checked). Content the hub holds (any epoch) answers duplicate: true and stores nothing; the same (epoch, seq) with other content is 409 HUB_ERR_STREAM_CONFLICT (the device starts a new epoch). In order within an epoch: seq must be lastSeq + 1, or any later seq with previousSeq = lastSeq (batches dropped at the edge, or a new epoch); otherwise 409 TELEMETRY_ERR_SEQ_OUT_OF_ORDER with details.expectedSeq and details.lastSeq.',
          security: [{ deviceSignature: [] }],
          querystring: BatchUploadQuery,
          consumes: ['application/octet-stream'],
          response: responses({ [batchUploadExchange.status]: batchUploadExchange.answer }),
        },
      },
      async (request) => {
        const device = request.device as DeviceRecord
        const bytes = request.body
        if (!Buffer.isBuffer(bytes)) {
          throw new CloudosError('HUB_ERR_UNSUPPORTED_MEDIA_TYPE', 'a telemetry batch is sent as application/octet-stream (codec bytes, docs/formats/batch.md)')
        }
        const contentSha256 = sha256Hex(bytes)
        if (request.query.contentSha256 !== undefined && request.query.contentSha256 !== contentSha256) {
          context.metrics.telemetryBatches.inc({ outcome: 'hash_mismatch' })
          throw new CloudosError('HUB_ERR_CONTENT_HASH_MISMATCH', `the batch's sha256 is ${contentSha256}, the device sent contentSha256=${request.query.contentSha256}`, { sentSha256: request.query.contentSha256, contentSha256 })
        }
        const checked = acceptBatchCounted(bytes)
        const batch = checked.batch
        const epoch = request.query.epoch ?? INITIAL_STREAM_EPOCH
        const { accepted, bytes: toStore, held } = await withoutReadingsHeldInOtherEpochs(context.store.telemetry, device.id, epoch, checked, limits)
        if (held > 0) request.log.info({ deviceId: device.id, epoch, seq: batch.seq, held }, 'readings already held from another stream epoch of this device: not stored twice')
        const record = batchRecord(device.id, toStore ?? bytes, accepted, {
          epoch,
          contentSha256,
          receivedAt: context.clock(),
          ...(request.query.previousSeq === undefined ? {} : { previousSeq: request.query.previousSeq }),
          ...(request.query.droppedReadings === undefined ? {} : { droppedReadings: request.query.droppedReadings }),
        })
        const result = await context.store.telemetry.append(record)
        if (result.outcome === 'out_of_order') {
          context.metrics.telemetryBatches.inc({ outcome: 'out_of_order' })
          throw new CloudosError(
            'TELEMETRY_ERR_SEQ_OUT_OF_ORDER',
            `batch ${batch.seq} does not follow the last batch stored for this device (${result.lastSeq}); expected ${result.expectedSeq}, or a later seq with previousSeq=${result.lastSeq}`,
            { seq: batch.seq, lastSeq: result.lastSeq, expectedSeq: result.expectedSeq },
          )
        }
        if (result.outcome === 'conflict') {
          context.metrics.telemetryBatches.inc({ outcome: 'conflict' })
          throw new CloudosError(
            'HUB_ERR_STREAM_CONFLICT',
            `batch ${batch.seq} of stream epoch ${epoch} is already held with other content (sha256 ${result.heldSha256.slice(0, 12)}..., sent ${contentSha256.slice(0, 12)}...): start a new stream epoch`,
            { epoch, seq: batch.seq, heldSha256: result.heldSha256, sentSha256: contentSha256, lastSeq: result.lastSeq },
          )
        }
        if (result.outcome === 'stored' && result.newEpoch === true) await recordNewEpoch(context, device.id, epoch, 'telemetry')
        const duplicate = result.outcome === 'duplicate'
        context.metrics.telemetryBatches.inc({ outcome: duplicate ? 'duplicate' : 'stored' })
        if (!duplicate) context.metrics.telemetryReadings.inc(record.readingCount)
        return { seq: batch.seq, duplicate, readings: record.readingCount, lastSeq: result.lastSeq }
      },
    )
  })

  function acceptBatchCounted(bytes: Buffer) {
    try {
      return acceptBatch(bytes, limits)
    } catch (err) {
      context.metrics.telemetryBatches.inc({ outcome: (err as CloudosError).code === 'TELEMETRY_ERR_BATCH_TOO_LARGE' ? 'too_large' : 'invalid' })
      throw err
    }
  }
}

/** Telemetry series read back by operators. */
export const telemetryRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const limits = context.config.telemetry

  app.get<{ Querystring: Static<typeof TelemetryQuery> }>(
    '/v1/telemetry',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['telemetry'],
        summary: "One device series between from and to: raw readings (oldest first, up to limit), or with step= min/max/avg per bucket",
        security: bearerSecurity,
        querystring: TelemetryQuery,
        response: responses({ 200: TelemetryAnswer }),
      },
    },
    async (request) => {
      const q = request.query
      if (q.from > q.to) throw new CloudosError('HUB_ERR_INVALID_REQUEST', `"from" (${q.from}) is after "to" (${q.to})`)
      if (q.step !== undefined && (q.to - q.from) / q.step > limits.maxQueryPoints) {
        throw new CloudosError('TELEMETRY_ERR_QUERY_TOO_LARGE', `from..to in steps of ${q.step} ms makes more than ${limits.maxQueryPoints} buckets`, { maxQueryPoints: limits.maxQueryPoints })
      }
      const stored = await context.store.telemetry.batchesFor({ deviceId: q.device as DeviceId, sensorId: q.sensor, metric: q.metric, from: q.from, to: q.to })
      // Stored batches were validated on the way in; the limits still apply.
      const batches = stored.map((b) => decodeBatch(b.bytes, { maxDecompressedBytes: limits.maxDecompressedBytes, maxReadings: limits.maxReadingsPerBatch }))
      const points = seriesPoints(batches, q.sensor, q.metric, q.from, q.to)
      const base = { device: q.device, sensor: q.sensor, metric: q.metric, from: q.from, to: q.to }
      if (q.step !== undefined) {
        const buckets = downsample(points, q.from, q.step)
        return { ...base, step: q.step, count: buckets.length, truncated: false, buckets }
      }
      const limit = Math.min(q.limit ?? limits.maxQueryPoints, limits.maxQueryPoints)
      const truncated = points.length > limit
      if (truncated) points.length = limit
      return { ...base, step: null, count: points.length, truncated, points }
    },
  )

  app.get<{ Params: Static<typeof DeviceParams> }>(
    '/v1/devices/:deviceId/telemetry',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['telemetry'],
        summary: "A device's telemetry upload state: last seq, batches and readings stored, readings it reported dropping",
        security: bearerSecurity,
        params: DeviceParams,
        response: responses({ 200: DeviceTelemetryState }),
      },
    },
    async (request) => {
      const id = request.params.deviceId as DeviceId
      if ((await context.store.devices.findById(id)) === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${id}`)
      const state = await context.store.telemetry.deviceState(id)
      return {
        deviceId: id,
        lastSeq: state?.lastSeq ?? 0,
        batches: state?.batches ?? 0,
        readings: state?.readings ?? 0,
        droppedReadings: state?.droppedReadings ?? 0,
        updatedAt: state === undefined ? null : new Date(state.updatedAt).toISOString(),
      }
    },
  )
}
