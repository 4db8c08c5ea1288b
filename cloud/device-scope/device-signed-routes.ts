import type { FastifyPluginAsync } from 'fastify'
import { deviceAlertRoutes } from '../alerts/alert-routes.js'
import { deviceConfigRoutes } from '../config/config-routes.js'
import { deviceSelfRoutes } from '../devices/device-routes.js'
import { heartbeatRoutes } from '../fleet/fleet-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { deviceOtaRoutes } from '../ota/device-ota-routes.js'
import { releaseBundleRoutes } from '../ota/release-routes.js'
import { telemetryUploadRoutes } from '../telemetry/telemetry-routes.js'
import { deviceGuard } from './device-guard.js'
import { keepRawJsonBody } from './raw-json-body.js'

/**
 * Every route a device calls with a signed request (shared/device-auth), in
 * one encapsulated fastify scope: JSON bodies keep their exact bytes (the
 * signature covers them); an onRequest hook checks the signature headers
 * before any body is read and a preValidation hook checks the signature over
 * the body before any of these routes runs. A route added here is signed by
 * construction; a route outside it cannot be reached with a device key.
 */
export const deviceSignedRoutes: FastifyPluginAsync<HubRouteOptions> = async (scope, options) => {
  keepRawJsonBody(scope)
  const guard = deviceGuard(options.context, scope)
  scope.addHook('onRequest', guard.beforeBody)
  scope.addHook('preValidation', guard.afterBody)
  await scope.register(deviceSelfRoutes, options)
  await scope.register(heartbeatRoutes, options)
  await scope.register(deviceAlertRoutes, options)
  await scope.register(telemetryUploadRoutes, options)
  await scope.register(deviceOtaRoutes, options)
  await scope.register(releaseBundleRoutes, options)
  await scope.register(deviceConfigRoutes, options)
}
