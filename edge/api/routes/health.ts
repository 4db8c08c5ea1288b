import type { FastifyPluginAsync } from 'fastify'
import type { EdgeApiContext } from '../context.js'

export const healthRoutes: FastifyPluginAsync<{ context: EdgeApiContext }> = async (app, { context }) => {
  app.get('/healthz', async (_request, reply) => {
    const health = context.health()
    return reply.status(health.status === 'ok' ? 200 : 503).send(health)
  })

  app.get('/metrics', async (_request, reply) => {
    const body = await context.metrics.registry.metrics()
    return reply.type(context.metrics.registry.contentType).send(body)
  })
}
