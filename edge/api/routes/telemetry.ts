import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../../shared/errors.js'
import { IDENTIFIER_PATTERN, REJECT_REASONS, type RejectReason } from '../../../shared/telemetry.js'
import type { EdgeApiContext } from '../context.js'

const identifier = (description: string) => Type.String({ pattern: IDENTIFIER_PATTERN.source, description })
const time = (description: string) =>
  Type.String({ minLength: 1, maxLength: 40, description: `${description}: epoch milliseconds or an ISO 8601 date-time` })

const ReadingsQuerySchema = Type.Object(
  {
    sensor: identifier('Sensor id'),
    metric: identifier('Metric name'),
    from: Type.Optional(time('Inclusive lower bound')),
    to: Type.Optional(time('Inclusive upper bound')),
    limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
    order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
  },
  { additionalProperties: false },
)

const DeadLettersQuerySchema = Type.Object(
  {
    reason: Type.Optional(Type.Union(REJECT_REASONS.map((r) => Type.Literal(r)))),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false },
)

export const telemetryRoutes: FastifyPluginAsync<{ context: EdgeApiContext }> = async (app, { context }) => {
  app.get('/v1', async () => ({
    routes: [
      'GET /healthz',
      'GET /metrics',
      'GET /v1/sensors',
      'GET /v1/readings?sensor=&metric=&from=&to=&limit=&order=asc|desc',
      'GET /v1/stats',
      'GET /v1/dead-letters?reason=&limit=',
      'GET /v1/alerts?limit=',
      'GET /v1/model',
      'PUT /v1/model {"path": "<model card or .onnx>"}',
    ],
  }))

  app.get<{ Querystring: Static<typeof ReadingsQuerySchema> }>(
    '/v1/readings',
    { schema: { querystring: ReadingsQuerySchema } },
    async (request) => {
      const q = request.query
      const from = q.from === undefined ? undefined : parseTime('from', q.from)
      const to = q.to === undefined ? undefined : parseTime('to', q.to)
      if (from !== undefined && to !== undefined && from > to) {
        throw new CloudosError('API_ERR_INVALID_QUERY', `"from" (${from}) is after "to" (${to})`)
      }
      const found = context.readings.query({ sensorId: q.sensor, metric: q.metric, from, to, limit: q.limit, order: q.order })
      // Each reading carries its anomaly score (null: not scored, e.g. inference off or the window still filling).
      let lowest = Number.POSITIVE_INFINITY
      let highest = Number.NEGATIVE_INFINITY
      for (const r of found) {
        if (r.ts < lowest) lowest = r.ts
        if (r.ts > highest) highest = r.ts
      }
      const scores = found.length === 0 ? new Map<number, number>() : context.scores.scoresBetween(q.sensor, q.metric, lowest, highest)
      const readings = found.map((r) => ({ ts: r.ts, value: r.value, anomalyScore: scores.get(r.ts) ?? null }))
      return { sensor: q.sensor, metric: q.metric, count: readings.length, readings }
    },
  )

  app.get('/v1/sensors', async () => {
    const series = context.readings.listSeries()
    return { count: series.length, sensors: series }
  })

  app.get('/v1/stats', async () => {
    const s = context.stats
    return {
      messagesReceived: s.messagesReceived,
      received: s.readingsReceived,
      stored: s.readingsStored,
      rejected: { ...s.rejectedByReason },
      rejectedTotal: s.readingsRejected,
      commits: s.commits,
      commitFailures: s.commitFailures,
      queueDepth: context.queueDepth(),
      dbSizeBytes: context.databaseSizeBytes(),
      uptimeSeconds: Math.round(process.uptime()),
      lifetime: context.counters.all(),
      hub: context.hubStatus(),
      inference: { ...context.inference.status(), ...context.scoreStats() },
      rules: context.rulesStatus(),
    }
  })

  app.get<{ Querystring: Static<typeof DeadLettersQuerySchema> }>(
    '/v1/dead-letters',
    { schema: { querystring: DeadLettersQuerySchema } },
    async (request) => {
      const letters = context.deadLetters.list({ reason: request.query.reason as RejectReason | undefined, limit: request.query.limit })
      return { count: letters.length, deadLetters: letters }
    },
  )
}

function parseTime(name: string, text: string): number {
  const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(ms)) {
    throw new CloudosError('API_ERR_INVALID_QUERY', `"${name}" must be epoch milliseconds or an ISO 8601 date-time, got ${JSON.stringify(text)}`)
  }
  return ms
}
