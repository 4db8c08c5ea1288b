import Fastify, { type FastifyInstance } from 'fastify'
import type { EdgeApiContext } from './context.js'
import { installErrorHandlers } from './errors.js'
import { alertRoutes } from './routes/alerts.js'
import { configRoutes } from './routes/config.js'
import { healthRoutes } from './routes/health.js'
import { modelRoutes } from './routes/model.js'
import { telemetryRoutes } from './routes/telemetry.js'

export interface EdgeApiOptions {
  context: EdgeApiContext
  logger?: boolean
}

/** Builds the edge's local HTTP API (not listening: see `listen` in the runtime, `inject` in tests). */
export async function buildEdgeApi(options: EdgeApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    ajv: { customOptions: { coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false } },
  })
  installErrorHandlers(app)
  await app.register(healthRoutes, { context: options.context })
  await app.register(telemetryRoutes, { context: options.context })
  await app.register(alertRoutes, { context: options.context })
  await app.register(configRoutes, { context: options.context })
  await app.register(modelRoutes, { context: options.context })
  return app
}
