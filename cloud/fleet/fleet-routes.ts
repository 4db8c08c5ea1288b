import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import type { FleetEventKind } from './fleet-repository.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import { FleetStatusSchema, HealthView, healthView } from '../devices/device-views.js'
import { DeviceParams } from '../devices/device-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { heartbeatExchange, type HeartbeatBody } from '../../shared/protocol/heartbeat.js'

const HealthQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }) }, { additionalProperties: false })

const Transition = Type.Object({ at: Type.String({ format: 'date-time' }), from: FleetStatusSchema, to: FleetStatusSchema, reason: Type.String() })

const StatusCounts = Type.Object({ online: Type.Integer(), offline: Type.Integer(), revoked: Type.Integer(), 'never-seen': Type.Integer() })

const EventKind = Type.Union([Type.Literal('device.enrolled'), Type.Literal('device.online'), Type.Literal('device.offline'), Type.Literal('device.revoked')])

const EventsQuery = Type.Object(
  {
    deviceId: Type.Optional(DeviceParams.properties.deviceId),
    kind: Type.Optional(EventKind),
    afterId: Type.Optional(Type.Integer({ minimum: 0, description: 'Only events with a larger id (to poll for new ones)' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
)

const FleetEventView = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  kind: EventKind,
  deviceId: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
})

/** Heartbeats from devices (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const heartbeatRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  app.post<{ Body: HeartbeatBody }>(
    heartbeatExchange.path,
    {
      config: { touchLastSeen: false },
      schema: {
        tags: ['fleet'],
        summary: 'Heartbeat with health (signed device request): updates last seen and health, brings an offline device back online',
        security: [{ deviceSignature: [] }],
        body: heartbeatExchange.body,
        response: responses({ [heartbeatExchange.status]: heartbeatExchange.answer }),
      },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      const outcome = await context.heartbeats.record({ deviceId: device.id, at: context.clock(), health: request.body })
      if (outcome.revoked) {
        // Revoked between the guard's check and the commit.
        throw new CloudosError('HUB_ERR_DEVICE_REVOKED', `device ${device.id} was revoked`)
      }
      if (outcome.previous === 'offline') request.log.info({ deviceId: device.id }, 'device back online')
      return { ok: true as const, heartbeatIntervalSeconds: context.config.fleet.heartbeatIntervalSeconds }
    },
  )
}

/** Health history, liveness transitions, groups and fleet events. */
export const fleetRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.get<{ Params: Static<typeof DeviceParams>; Querystring: Static<typeof HealthQuery> }>(
    '/v1/devices/:deviceId/health',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['fleet'],
        summary: 'Health history of a device (newest first) and its recent status transitions',
        security: bearerSecurity,
        params: DeviceParams,
        querystring: HealthQuery,
        response: responses({
          200: Type.Object({
            deviceId: Type.String(),
            fleetStatus: FleetStatusSchema,
            count: Type.Integer(),
            history: Type.Array(HealthView),
            transitions: Type.Array(Transition, { description: 'The latest 100 status transitions, newest first' }),
          }),
        }),
      },
    },
    async (request) => {
      const id = request.params.deviceId as DeviceId
      const device = await context.store.devices.findById(id)
      if (device === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${id}`)
      const history = await context.store.fleet.healthHistory(id, request.query.limit)
      const transitions = await context.store.fleet.transitions(id, 100)
      return {
        deviceId: id,
        fleetStatus: device.status === 'revoked' ? ('revoked' as const) : device.liveness,
        count: history.length,
        history: history.map(healthView),
        transitions: transitions.map((t) => ({ at: new Date(t.at).toISOString(), from: t.from, to: t.to, reason: t.reason })),
      }
    },
  )

  app.get(
    '/v1/groups',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['fleet'],
        summary: 'Device groups with their device counts by fleet status',
        security: bearerSecurity,
        response: responses({ 200: Type.Object({ groups: Type.Array(Type.Object({ group: Type.String(), total: Type.Integer(), counts: StatusCounts })) }) }),
      },
    },
    async () => ({ groups: await context.store.fleet.groups() }),
  )

  app.get<{ Querystring: Static<typeof EventsQuery> }>(
    '/v1/fleet/events',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['fleet'],
        summary: 'Fleet events (enrolled, online, offline, revoked), newest first',
        security: bearerSecurity,
        querystring: EventsQuery,
        response: responses({ 200: Type.Object({ count: Type.Integer(), events: Type.Array(FleetEventView) }) }),
      },
    },
    async (request) => {
      const { deviceId, kind, afterId, limit } = request.query
      const events = await context.store.fleet.events({ deviceId: deviceId as DeviceId | undefined, kind: kind as FleetEventKind | undefined, afterId, limit })
      return { count: events.length, events: events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) }
    },
  )
}
