import Fastify, { type FastifyInstance } from 'fastify'
import type { EdgeApiContext } from './context.js'
import { installRequestGuard } from './auth/request-guard.js'
import { installErrorHandlers } from './errors.js'
import { alertRoutes } from './routes/alerts.js'
import { configRoutes } from './routes/config.js'
import { healthRoutes } from './routes/health.js'
import { modelRoutes } from './routes/model.js'
import { telemetryRoutes } from './routes/telemetry.js'

export interface EdgeApiOptions {
  context: EdgeApiContext
  /**
   * Who may call: the bearer token in effect (edge/api/auth/api-token.ts)
   * and `http.host` (a Host header naming it is served besides loopback).
   */
  access: { token: () => string; host: string }
  logger?: boolean
}

/** Builds the edge's local HTTP API (not listening: see `listen` in the runtime, `inject` in tests). */
export async function buildEdgeApi(options: EdgeApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    ajv: { customOptions: { coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false } },
  })
  installErrorHandlers(app)
  installRequestGuard(app, {
    token: options.access.token,
    configuredHost: options.access.host,
    onRefused: (code) => options.context.metrics.apiRequestsRefused.inc({ code }),
  })
  await app.register(healthRoutes, { context: options.context })
  await app.register(telemetryRoutes, { context: options.context })
  await app.register(alertRoutes, { context: options.context })
  await app.register(configRoutes, { context: options.context })
  await app.register(modelRoutes, { context: options.context })
  return app
}
