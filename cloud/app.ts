import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TSchema } from '@sinclair/typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { join, resolve } from 'node:path'
import { CloudosError } from '../shared/errors.js'
import { AuditLog } from './audit/audit-log.js'
import { AuthFailureSummary } from './audit/auth-failure-summary.js'
import { authGuards } from './http/auth-guards.js'
import { isHubInitialised } from './bootstrap/init-hub.js'
import { loadHubTls, readHubCaPin, type HubTlsMaterial } from './bootstrap/hub-tls-files.js'
import { resolveHubConfig, type HubConfig } from './hub-config.js'
import type { HubContext } from './http/context.js'
import { installHubErrorHandlers } from './http/error-handlers.js'
import { deviceSignedRoutes } from './device-scope/device-signed-routes.js'
import { HubConfigDocuments } from './config/hub-config-documents.js'
import { EdgeConfigSchema } from '../shared/config/edge-config-schema.js'
import { extraConfigChecks } from '../shared/config/extra-checks.js'
import { EnrolmentService } from './devices/enrolment-service.js'
import { HeartbeatWriter } from './fleet/heartbeat-writer.js'
import { FleetLivenessMonitor } from './fleet/liveness.js'
import { HubIdentity } from './identity/hub-identity.js'
import { HubMetrics } from './http/metrics.js'
import type { UploadedBundleVerifier } from './ota/bundle-verifier.js'
import { prepareIncomingDir } from './ota/bundle-receiver.js'
import { RolloutEngine } from './ota/rollout-engine.js'
import { sharedBundleVerifier } from './ota/shared-bundle-verifier.js'
import { loadConfiguredReleaseKeys, TrustedReleaseKeys } from './ota/trusted-release-keys.js'
import { releaseKeyRoutes } from './ota/release-key-routes.js'
import { releaseRoutes } from './ota/release-routes.js'
import { rolloutRoutes } from './ota/rollout-routes.js'
import { auditRoutes } from './audit/audit-routes.js'
import { hubAlertRoutes } from './alerts/hub-alert-routes.js'
import { ComplianceService } from './compliance/compliance-service.js'
import { complianceRoutes } from './compliance/compliance-routes.js'
import { hubIdentityCreatedAt } from './compliance/key-sources.js'
import { PolicyEvaluator } from './compliance/policy-evaluator.js'
import type { HubTransport } from './compliance/transport-control.js'
import { authRoutes } from './accounts/auth-routes.js'
import { alertRoutes } from './alerts/alert-routes.js'
import { deviceRoutes } from './devices/device-routes.js'
import { configRoutes } from './config/config-routes.js'
import { fleetRoutes } from './fleet/fleet-routes.js'
import { enrolmentTokenRoutes } from './devices/enrolment-token-routes.js'
import { healthRoutes } from './health/health-routes.js'
import type { HubRouteOptions } from './http/route-options.js'
import { telemetryRoutes } from './telemetry/telemetry-routes.js'
import { userRoutes } from './accounts/user-routes.js'
import { ErrorBody } from './http/schemas.js'
import type { HubStore } from './store/hub-store.js'
import { SqliteHubStore } from './store/sqlite-hub-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The offline detector: `app.fleetLiveness.check(now)` runs one check (tests drive time through it). */
    fleetLiveness: FleetLivenessMonitor
    /** The rollout engine: `app.otaRollouts.tick()` evaluates running rollouts once (tests drive time through it). */
    otaRollouts: RolloutEngine
    /** The compliance policy evaluator: `app.policyEvaluator.evaluate()` runs one evaluation (tests drive it). */
    policyEvaluator: PolicyEvaluator
    /** Failed authentications per source and window: `app.authFailures.flushDue()` writes the ended windows (tests drive time through it). */
    authFailures: AuthFailureSummary
  }
}

export interface HubAppOptions {
  /** An initialised hub data directory (`cloudos hub init`). */
  dataDir: string
  /** Hub config (partial; defaults from the schema in cloud/hub-config.ts). */
  config?: unknown
  /** Fastify's pino logger option: false (default) for none. */
  logger?: FastifyServerOptions['logger']
  /** Milliseconds since the epoch; tests move it to expire tokens and change TOTP steps. */
  clock?: () => number
  /** Storage backend; the SQLite store in the data dir by default. Closed with the app. */
  store?: HubStore
  /**
   * Run the offline-detection timer while the app is ready (default true).
   * Tests that move a test clock turn it off and call `app.fleetLiveness.check()`.
   */
  livenessTimer?: boolean
  /** Run the rollout evaluation timer while the app is ready (default true); tests on a test clock call `app.otaRollouts.tick()`. */
  rolloutTimer?: boolean
  /** Checks uploaded bundles; the shared OTA verifier (shared/ota) by default. */
  bundleVerifier?: UploadedBundleVerifier
  /** The schema config documents are checked against (default: the edge config schema). */
  configSchema?: TSchema
  /**
   * How the hub serves its API (HTTPS or plain HTTP), for the compliance
   * report's TLS control: a value, or a function read at each report. Plain
   * HTTP when not given.
   */
  transport?: HubTransport | (() => HubTransport)
  /** Run the compliance policy evaluator while the app is ready (default true); tests call `app.policyEvaluator.evaluate()`. */
  policyTimer?: boolean
}

/**
 * Builds the hub's HTTP API (not listening: see cloud/server.ts, or
 * `app.inject()` in tests). The app is a tree of plugins: cross-cutting
 * plugins first (rate limit, OpenAPI), then one plugin per resource.
 */
export async function buildHubApp(options: HubAppOptions): Promise<FastifyInstance> {
  const dataDir = resolve(options.dataDir)
  if (!isHubInitialised(dataDir)) {
    throw new CloudosError('HUB_ERR_NOT_INITIALISED', `${dataDir} is not an initialised hub data directory: run \`cloudos hub init --data-dir ${dataDir}\` first`, { dataDir })
  }
  const config: HubConfig = resolveHubConfig(options.config ?? {})
  const clock = options.clock ?? Date.now
  const identity = HubIdentity.load(dataDir)
  // HTTPS unless the operator said otherwise; the files are checked before anything opens.
  const tls: HubTlsMaterial | undefined = config.http.insecureHttp ? undefined : loadHubTls(dataDir, config.tls)
  const caPin = tls?.caPin ?? readHubCaPin(dataDir, config.tls)
  const store = options.store ?? SqliteHubStore.open(dataDir)
  const metrics = new HubMetrics()
  const audit = new AuditLog(store.audit, identity, clock, () => metrics.auditEntries.inc())
  const authFailures = new AuthFailureSummary({
    audit,
    clock,
    windowMs: config.authFailures.windowSeconds * 1000,
    maxSourcesPerWindow: config.authFailures.maxSourcesPerWindow,
    onFailure: (failure) => metrics.authFailures.inc({ kind: failure.kind, code: failure.code }),
    onSummary: (summary) => metrics.authFailureSummaries.inc({ kind: summary.kind }),
  })
  const enrolment = new EnrolmentService({ tokens: store.enrolmentTokens, devices: store.devices, audit, failures: authFailures, enrolment: config.enrolment, clock, caPin })
  const heartbeats = new HeartbeatWriter(store.fleet, config.fleet.healthHistoryLength, (outcomes) => {
    for (const outcome of outcomes) {
      if (outcome.revoked) continue
      metrics.heartbeats.inc()
      if (outcome.previous !== 'online') metrics.fleetTransitions.inc({ to: 'online' })
    }
  })
  const liveness = new FleetLivenessMonitor(store.fleet, config.fleet, clock, (transitions) => metrics.fleetTransitions.inc({ to: 'offline' }, transitions.length))
  const configDocs = new HubConfigDocuments({
    repository: store.config,
    schema: options.configSchema ?? EdgeConfigSchema,
    extraCheck: extraConfigChecks,
    clock,
    onRefused: (code) => metrics.configRefused.inc({ code }),
  })
  const releasesDir = join(dataDir, 'releases')
  let context: HubContext
  try {
    const incomingDir = prepareIncomingDir(releasesDir)
    const trustedKeys = new TrustedReleaseKeys(loadConfiguredReleaseKeys(config.ota.trustedKeyFiles), store.releaseKeys)
    const heartbeatGraceMs = config.fleet.heartbeatIntervalSeconds * config.fleet.offlineAfterMissedHeartbeats * 1000
    const engine = new RolloutEngine({ rollouts: store.rollouts, audit, clock, heartbeatGraceMs, checkIntervalMs: config.ota.rolloutCheckSeconds * 1000 })
    const ota = { releasesDir, incomingDir, trustedKeys, verifier: options.bundleVerifier ?? sharedBundleVerifier, engine, heartbeatGraceMs }
    // What the hub serves (the compliance report's "TLS on"): HTTPS unless started with --insecure-http.
    const transport = options.transport ?? { tls: tls !== undefined, insecureHttp: config.http.insecureHttp }
    const compliance = new ComplianceService({
      store,
      identity,
      identityCreatedAt: hubIdentityCreatedAt(dataDir),
      trustedKeys,
      transport: typeof transport === 'function' ? transport : () => transport,
      config: config.compliance,
      clock,
    })
    context = { config, store, identity, audit, authFailures, metrics, clock, enrolment, heartbeats, liveness, ota, configDocs, compliance }
  } catch (err) {
    await store.close()
    throw err
  }
  try {
    return await assembleApp(context, options.logger ?? false, { liveness: options.livenessTimer ?? true, rollout: options.rolloutTimer ?? true, policy: options.policyTimer ?? true }, tls)
  } catch (err) {
    await store.close()
    throw err
  }
}

async function assembleApp(context: HubContext, logger: FastifyServerOptions['logger'], timers: { liveness: boolean; rollout: boolean; policy: boolean }, tls: HubTlsMaterial | undefined): Promise<FastifyInstance> {
  const { config, store, metrics } = context
  // Fastify types an HTTPS instance apart from an HTTP one; the routes and hooks are the same.
  const app = Fastify({
    ...(tls === undefined ? {} : { https: { key: tls.key, cert: tls.cert } }),
    logger,
    bodyLimit: config.http.bodyLimitBytes,
    // request.ip (rate limits, audit sources) from X-Forwarded-For only when
    // the operator names the proxy (docs/hub.md): otherwise any client could
    // pick its own address and escape every per-client limit.
    trustProxy: config.http.trustProxy,
    // On close, cut open connections too (config long-polls, bundle downloads,
    // devices' keep-alive sockets): devices retry with backoff and resume
    // downloads with Range, while waiting for them held shutdown for minutes.
    forceCloseConnections: true,
    // Reject unknown body keys rather than silently dropping them.
    ajv: { customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance
  app.decorate('fleetLiveness', context.liveness)
  app.decorate('otaRollouts', context.ota.engine)
  const policyEvaluator = new PolicyEvaluator(
    context.compliance,
    store.hubAlerts,
    context.clock,
    config.compliance.policyCheckSeconds * 1000,
    ({ raised, cleared }) => {
      for (const alert of raised) metrics.policyAlerts.inc({ control: alert.kind, change: 'raised' })
      for (const alert of cleared) metrics.policyAlerts.inc({ control: alert.kind, change: 'cleared' })
    },
    (err) => app.log.error({ err }, 'compliance policy evaluation failed'),
  )
  app.decorate('policyEvaluator', policyEvaluator)
  app.decorate('authFailures', context.authFailures)
  app.addHook('onReady', async () => context.authFailures.start())
  if (timers.liveness) app.addHook('onReady', async () => context.liveness.start())
  if (timers.rollout) app.addHook('onReady', async () => context.ota.engine.start())
  if (timers.policy) app.addHook('onReady', async () => policyEvaluator.start())
  app.addHook('preClose', async () => context.configDocs.close())
  app.addHook('onClose', async () => {
    await context.liveness.stop()
    await context.ota.engine.stop()
    await policyEvaluator.stop()
    await context.heartbeats.drain()
    // The open window's failures are written before the store closes.
    await context.authFailures.stop()
    await store.close()
  })
  app.decorateRequest('principal', null)
  app.decorateRequest('device', null)
  app.addSchema(ErrorBody)
  installHubErrorHandlers(app, config.http.bodyLimitBytes)
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })

  // Routes opt in (config.rateLimit: login per client) or take limiters
  // (app.createRateLimit: cloud/http/rate-limiter.ts) where their key is known.
  await app.register(rateLimit, { global: false })
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'CloudOS Lite hub API', version: '0.1.0', description: 'Fleet hub: accounts, audit log, devices, fleet health, alerts, telemetry, config documents, OTA releases and rollouts, compliance report. Errors answer {code, message, hint}; see docs/errors.md.' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Token from POST /v1/auth/login' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'metrics.token from the hub config (GET /metrics); without one configured, /metrics answers loopback clients only' },
          deviceSignature: { type: 'apiKey', in: 'header', name: 'x-cloudos-signature', description: 'Ed25519 request signature by an enrolled device (with x-cloudos-device, -timestamp, -nonce); see docs/hub.md' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  const routeOptions: HubRouteOptions = { context, guards: authGuards(context) }
  await app.register(healthRoutes, routeOptions)
  await app.register(authRoutes, routeOptions)
  await app.register(userRoutes, routeOptions)
  await app.register(auditRoutes, routeOptions)
  await app.register(enrolmentTokenRoutes, routeOptions)
  await app.register(deviceRoutes, routeOptions)
  await app.register(fleetRoutes, routeOptions)
  await app.register(alertRoutes, routeOptions)
  await app.register(hubAlertRoutes, routeOptions)
  await app.register(telemetryRoutes, routeOptions)
  await app.register(releaseKeyRoutes, routeOptions)
  await app.register(releaseRoutes, routeOptions)
  await app.register(rolloutRoutes, routeOptions)
  await app.register(configRoutes, routeOptions)
  await app.register(complianceRoutes, routeOptions)
  // Routes called by devices themselves, signed with the device key: one scope, one guard.
  await app.register(deviceSignedRoutes, routeOptions)
  return app
}
