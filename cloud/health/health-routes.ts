import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { metricsGuard } from '../http/metrics-guard.js'
import { responses } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

const Health = Type.Object({ status: Type.Literal('ok'), hubId: Type.String(), uptimeSeconds: Type.Number() })
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ store: Type.Boolean() }),
})

/** Liveness and readiness (unauthenticated, for probes) and Prometheus metrics (metrics.token, or loopback only). */
export const healthRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const startedAt = context.clock()

  app.get('/healthz', { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: responses({ 200: Health }) } }, async () => ({
    status: 'ok' as const,
    hubId: context.identity.hubId,
    uptimeSeconds: (context.clock() - startedAt) / 1000,
  }))

  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'Readiness: storage answers', response: responses({ 200: Readiness, 503: Readiness }) } },
    async (_request, reply) => {
      const store = await context.store.ping().then(
        () => true,
        () => false,
      )
      return reply.status(store ? 200 : 503).send({ status: store ? 'ready' : 'not_ready', checks: { store } })
    },
  )

  app.get(
    '/metrics',
    {
      onRequest: metricsGuard(context.config.metrics.token),
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        description: 'With metrics.token configured: send "Authorization: Bearer <metrics.token>". Without: loopback clients only (403 HUB_ERR_METRICS_LOOPBACK_ONLY otherwise).',
        security: [{ metricsToken: [] }],
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      const body = await context.metrics.registry.metrics()
      return reply.type(context.metrics.registry.contentType).send(body)
    },
  )
}
