import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { createRateLimiter } from '../http/rate-limiter.js'
import type { DeviceId, DeviceRecord } from './device-repository.js'
import { bearerSecurity, GroupName, responses, TierSchema } from '../http/schemas.js'
import { Device, publicDevice } from './device-views.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { EnrolBody, enrolExchange } from '../../shared/protocol/enrolment.js'

const DeviceListQuery = Type.Object(
  {
    group: Type.Optional(GroupName),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('online'), Type.Literal('offline'), Type.Literal('never-seen')], {
        description: 'active (not revoked) or revoked, or a fleet status: online, offline, never-seen (each of these excludes revoked devices)',
      }),
    ),
    tier: Type.Optional(TierSchema),
    label: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._/-]{1,64}(=[^=]{0,128})?$', description: 'key (label present) or key=value' })),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
)

const LabelsBody = Type.Object(
  {
    labels: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._/-]{1,64}$' }), Type.String({ maxLength: 128, pattern: '^[^=]*$' }), {
      maxProperties: 64,
      // TypeBox gives patternProperties only: without this, a key not matching the pattern would pass unchecked.
      additionalProperties: false,
      description: 'The whole set: keys 1-64 characters of A-Z a-z 0-9 . _ / -, values up to 128 characters without "="',
    }),
  },
  { additionalProperties: false },
)

export const DeviceParams = Type.Object({ deviceId: Type.String({ pattern: '^dev-[0-9a-f-]{36}$' }) })

const parseLabel = (label: string | undefined) => {
  if (label === undefined) return undefined
  const at = label.indexOf('=')
  return at < 0 ? { key: label } : { key: label.slice(0, at), value: label.slice(at + 1) }
}

export const deviceRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const { rateLimits } = context.config
  // Per client address, before the body is read: enrolment is open to anyone holding (or guessing) a token.
  const enrolments = createRateLimiter(
    app,
    { name: 'enrolment_source', max: rateLimits.enrolmentPerSource, windowMs: rateLimits.windowSeconds * 1000, key: (request) => request.ip, trackedKeys: rateLimits.trackedKeys },
    context.metrics,
  )
  app.post<{ Body: Static<typeof EnrolBody> }>(
    enrolExchange.path,
    {
      onRequest: enrolments.consume,
      schema: {
        tags: ['devices'],
        summary: 'Enrol a device with a single-use enrolment token, its Ed25519 public key and its hardware facts',
        body: enrolExchange.body,
        response: responses({ [enrolExchange.status]: enrolExchange.answer }),
      },
    },
    async (request, reply) => {
      const device = await context.enrolment.enrol({ ...request.body, ip: request.ip })
      return reply.status(201).send({
        deviceId: device.id,
        group: device.group,
        tier: device.tier,
        hubId: context.identity.hubId,
        hubPublicKeyPem: context.identity.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      })
    },
  )

  app.get<{ Querystring: Static<typeof DeviceListQuery> }>(
    '/v1/devices',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['devices'],
        summary: 'List devices (oldest enrolment first), filtered by group, status, tier and label, paged with limit and offset',
        security: bearerSecurity,
        querystring: DeviceListQuery,
        response: responses({ 200: Type.Object({ count: Type.Integer(), devices: Type.Array(Device) }) }),
      },
    },
    async (request) => {
      const { label, ...filter } = request.query
      const devices = await context.store.devices.list({ ...filter, label: parseLabel(label) })
      return { count: devices.length, devices: devices.map(publicDevice) }
    },
  )

  app.get<{ Params: Static<typeof DeviceParams> }>(
    '/v1/devices/:deviceId',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['devices'], summary: 'One device, with its fleet status and latest health', security: bearerSecurity, params: DeviceParams, response: responses({ 200: Device }) },
    },
    async (request) => {
      const device = await context.store.devices.findById(request.params.deviceId as DeviceId)
      if (device === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${request.params.deviceId}`)
      return publicDevice(device)
    },
  )

  app.post<{ Params: Static<typeof DeviceParams> }>(
    '/v1/devices/:deviceId/revoke',
    {
      onRequest: guards.adminOnly,
      schema: { tags: ['devices'], summary: 'Revoke a device: its next request is refused', security: bearerSecurity, params: DeviceParams, response: responses({ 200: Device }) },
    },
    async (request) => {
      const id = request.params.deviceId as DeviceId
      const existing = await context.store.devices.findById(id)
      if (existing === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${id}`)
      if (await context.store.devices.revoke(id, context.clock())) {
        await context.audit.record('device.revoke', actorOf(request), id, { group: existing.group })
      }
      return publicDevice((await context.store.devices.findById(id)) as DeviceRecord)
    },
  )

  app.put<{ Params: Static<typeof DeviceParams>; Body: Static<typeof LabelsBody> }>(
    '/v1/devices/:deviceId/labels',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['devices'],
        summary: 'Replace a device\'s labels (what rollouts and GET /v1/devices?label= select on) (admin; audited)',
        security: bearerSecurity,
        params: DeviceParams,
        body: LabelsBody,
        response: responses({ 200: Device }),
      },
    },
    async (request) => {
      const id = request.params.deviceId as DeviceId
      const existing = await context.store.devices.findById(id)
      if (existing === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${id}`)
      await context.store.devices.setLabels(id, request.body.labels)
      await context.audit.record('device.labels_set', actorOf(request), id, { before: existing.labels, after: request.body.labels })
      return publicDevice((await context.store.devices.findById(id)) as DeviceRecord)
    },
  )

}

/** The device's own record, for the device itself (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const deviceSelfRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  app.get(
    '/v1/devices/me',
    {
      schema: {
        tags: ['devices'],
        summary: 'The calling device\'s own record (signed device request; checks the device credentials)',
        security: [{ deviceSignature: [] }],
        response: responses({ 200: Device }),
      },
    },
    async (request) => publicDevice({ ...(request.device as DeviceRecord), lastSeenAt: context.clock() }),
  )
}
