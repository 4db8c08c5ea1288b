import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { EdgeApiContext } from '../context.js'
import { alertReportOf } from '../../../shared/protocol/alerts.js'

const AlertsQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false },
)

/** Alerts raised at this edge, newest first, with whether the hub has acknowledged each. */
export const alertRoutes: FastifyPluginAsync<{ context: EdgeApiContext }> = async (app, { context }) => {
  app.get<{ Querystring: Static<typeof AlertsQuerySchema> }>('/v1/alerts', { schema: { querystring: AlertsQuerySchema } }, async (request) => {
    const alerts = context.alerts.list(request.query.limit).map((a) => ({
      ...alertReportOf(a),
      raisedAt: new Date(a.raisedAt).toISOString(),
      forwarded: a.forwardedAt !== null,
      forwardedAt: a.forwardedAt === null ? null : new Date(a.forwardedAt).toISOString(),
      clearedAt: a.clearedAt === null ? null : new Date(a.clearedAt).toISOString(),
    }))
    const counts = context.alerts.counts()
    return { count: alerts.length, total: counts.total, pending: counts.pending, alerts }
  })
}
