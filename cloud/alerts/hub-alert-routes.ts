import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { alertSeveritySchema } from '../../shared/protocol/alerts.js'
import { iso } from '../devices/device-views.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { HUB_ALERT_SOURCES, type HubAlertRecord, type HubAlertSource } from './hub-alert-repository.js'

const Source = Type.Union(HUB_ALERT_SOURCES.map((s) => Type.Literal(s)))

/** One hub alert as `GET /v1/hub-alerts` answers it (also what the CLI and tests read). */
export const HubAlertView = Type.Object({
  id: Type.Integer(),
  source: Source,
  kind: Type.String({ description: 'For policy alerts, the compliance control (admin-mfa, transport-tls, audit-chain, key-age, device-software, refused-config-keys, failed-logins)' }),
  subject: Type.String({ description: 'What violates it: user:<name>, device:<id>..., release-key:<id>, audit-log, transport, source:<address>' }),
  severity: alertSeveritySchema(),
  message: Type.String(),
  raisedAt: Type.String({ format: 'date-time' }),
  open: Type.Boolean(),
  clearedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
export type HubAlertView = Static<typeof HubAlertView>

const HubAlertsQuery = Type.Object(
  {
    source: Type.Optional(Source),
    open: Type.Optional(Type.Boolean({ description: 'true: only alerts still open; false: only cleared ones' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
)

const view = (a: HubAlertRecord) => ({ ...a, raisedAt: new Date(a.raisedAt).toISOString(), open: a.clearedAt === null, clearedAt: iso(a.clearedAt) })

/** Alerts the hub raises itself (compliance policy violations: cloud/compliance/policy-evaluator.ts), newest first. */
export const hubAlertRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.get<{ Querystring: Static<typeof HubAlertsQuery> }>(
    '/v1/hub-alerts',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['alerts'],
        summary: 'Hub-side alerts (source policy: compliance violations), newest first; each raised once per violation and cleared when resolved',
        security: bearerSecurity,
        querystring: HubAlertsQuery,
        response: responses({ 200: Type.Object({ count: Type.Integer(), alerts: Type.Array(HubAlertView) }) }),
      },
    },
    async (request) => {
      const alerts = await context.store.hubAlerts.list({ source: request.query.source as HubAlertSource | undefined, open: request.query.open, limit: request.query.limit })
      return { count: alerts.length, alerts: alerts.map(view) }
    },
  )
}
