import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError, isCloudosError } from '../../shared/errors.js'
import { INITIAL_STREAM_EPOCH } from '../../shared/protocol/upload-stream.js'
import { recordNewEpoch } from '../telemetry/stream-epoch-events.js'
import { actorOf } from '../http/auth-guards.js'
import type { AlertRecord } from './alert-repository.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import { iso } from '../devices/device-views.js'
import { DeviceParams } from '../devices/device-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { alertContentSha256, alertReportOf, alertsExchange, alertSeveritySchema, type AlertSeverity, type AlertsBody } from '../../shared/protocol/alerts.js'

const Severity = alertSeveritySchema()

const AlertView = Type.Object({
  id: Type.Integer(),
  deviceId: Type.String(),
  seq: Type.Integer(),
  raisedAt: Type.String({ format: 'date-time' }),
  receivedAt: Type.String({ format: 'date-time' }),
  sensorId: Type.String(),
  metric: Type.String(),
  severity: Severity,
  rule: Type.String(),
  value: Type.Union([Type.Null(), Type.Number()]),
  message: Type.String(),
  acknowledged: Type.Boolean(),
  acknowledgedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
})

const AlertsQuery = Type.Object(
  {
    deviceId: Type.Optional(DeviceParams.properties.deviceId),
    severity: Type.Optional(Severity),
    acknowledged: Type.Optional(Type.Boolean()),
    from: Type.Optional(Type.Integer({ minimum: 0, description: 'raisedAt >= from (epoch ms)' })),
    to: Type.Optional(Type.Integer({ minimum: 0, description: 'raisedAt < to (epoch ms)' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
)

const AlertParams = Type.Object({ alertId: Type.Integer({ minimum: 1 }) })

const alertView = (a: AlertRecord) => ({
  id: a.id,
  deviceId: a.deviceId,
  ...alertReportOf(a),
  raisedAt: new Date(a.raisedAt).toISOString(),
  receivedAt: new Date(a.receivedAt).toISOString(),
  acknowledged: a.acknowledgedAt !== null,
  acknowledgedAt: iso(a.acknowledgedAt),
  acknowledgedBy: a.acknowledgedBy,
})

/** Alerts forwarded by devices (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const deviceAlertRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  app.post<{ Body: AlertsBody }>(
    alertsExchange.path,
    {
      schema: {
        tags: ['alerts'],
        summary: 'Forward alerts raised on the device (signed device request), keyed by (device, epoch, seq) and known by content sha256: held content is a duplicate, the same key with other content 409 HUB_ERR_STREAM_CONFLICT; stored in one transaction',
        security: [{ deviceSignature: [] }],
        body: alertsExchange.body,
        response: responses({ [alertsExchange.status]: alertsExchange.answer }),
      },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      // The hub knows each alert by the sha256 of its canonical JSON, whether or not the device sent it (older edges do not).
      const alerts = request.body.alerts.map((alert) => {
        const contentSha256 = alertContentSha256(alert)
        if (alert.contentSha256 !== undefined && alert.contentSha256 !== contentSha256) {
          context.metrics.alertsReceived.inc({ outcome: 'hash_mismatch' })
          throw new CloudosError('HUB_ERR_CONTENT_HASH_MISMATCH', `alert ${alert.seq}: its canonical JSON hashes to ${contentSha256}, the device sent ${alert.contentSha256}`, { seq: alert.seq, sentSha256: alert.contentSha256, contentSha256 })
        }
        return { ...alert, contentSha256 }
      })
      const epoch = request.body.epoch ?? INITIAL_STREAM_EPOCH
      let result
      try {
        result = await context.store.alerts.ingest(device.id, alerts, context.clock(), epoch)
      } catch (err) {
        if (isCloudosError(err) && err.code === 'HUB_ERR_STREAM_CONFLICT') context.metrics.alertsReceived.inc({ outcome: 'conflict' })
        throw err
      }
      context.metrics.alertsReceived.inc({ outcome: 'accepted' }, result.accepted)
      context.metrics.alertsReceived.inc({ outcome: 'duplicate' }, result.duplicates)
      if (result.newEpoch === true) await recordNewEpoch(context, device.id, epoch, 'alerts')
      return { accepted: result.accepted, duplicates: result.duplicates, lastSeq: result.lastSeq }
    },
  )
}

/** Alerts listed and acknowledged by operators. */
export const alertRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/v1/alerts',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first (by raisedAt), filtered by device, severity, acknowledgement and time',
        security: bearerSecurity,
        querystring: AlertsQuery,
        response: responses({ 200: Type.Object({ count: Type.Integer(), alerts: Type.Array(AlertView) }) }),
      },
    },
    async (request) => {
      const { deviceId, severity, ...rest } = request.query
      const alerts = await context.store.alerts.list({ ...rest, deviceId: deviceId as DeviceId | undefined, severity: severity as AlertSeverity | undefined })
      return { count: alerts.length, alerts: alerts.map(alertView) }
    },
  )

  app.post<{ Params: Static<typeof AlertParams> }>(
    '/v1/alerts/:alertId/ack',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert (records who and when; audited)',
        security: bearerSecurity,
        params: AlertParams,
        response: responses({ 200: AlertView }),
      },
    },
    async (request) => {
      const id = request.params.alertId
      const alert = await context.store.alerts.findById(id)
      if (alert === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no alert ${id}`)
      const actor = actorOf(request)
      if (!(await context.store.alerts.acknowledge(id, actor, context.clock()))) {
        const current = (await context.store.alerts.findById(id)) ?? alert
        throw new CloudosError('HUB_ERR_ALERT_ALREADY_ACKNOWLEDGED', `alert ${id} was already acknowledged by ${current.acknowledgedBy ?? 'someone'} at ${iso(current.acknowledgedAt) ?? '?'}`, {
          acknowledgedBy: current.acknowledgedBy,
          acknowledgedAt: iso(current.acknowledgedAt),
        })
      }
      await context.audit.record('alert.acknowledge', actor, String(id), { deviceId: alert.deviceId, seq: alert.seq, severity: alert.severity, sensorId: alert.sensorId, metric: alert.metric })
      return alertView((await context.store.alerts.findById(id)) as AlertRecord)
    },
  )
}
