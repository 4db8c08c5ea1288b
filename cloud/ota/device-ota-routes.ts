import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { applyDeviceReport } from './device-reports.js'
import { otaTargetFor } from './ota-target.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { Nullable, responses } from '../http/schemas.js'
import { BundleKindSchema, DeviceOtaStateSchema } from './ota-views.js'
import type { HubRouteOptions } from '../http/route-options.js'

const OtaTargetView = Type.Object({
  release: Nullable(
    Type.Object({
      releaseId: Type.String(),
      rolloutId: Type.String(),
      name: Type.String(),
      version: Type.String(),
      kind: BundleKindSchema,
      bundleBytes: Type.Integer(),
      bundleSha256: Type.String(),
      downloadPath: Type.String({ description: 'GET it signed; Range supported' }),
      allowDowngrade: Type.Boolean(),
    }),
  ),
})

const ReportBody = Type.Object(
  {
    rolloutId: Type.String({ minLength: 1, maxLength: 64 }),
    releaseId: Type.String({ minLength: 1, maxLength: 64 }),
    state: DeviceOtaStateSchema,
    code: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'Stable error code (docs/errors.md) with failed / rolled-back' })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    runningVersion: Type.String({ minLength: 1, maxLength: 64 }),
    at: Type.Integer({ minimum: 0, description: 'Device time of the step, epoch ms' }),
  },
  { additionalProperties: false },
)

/** What devices call (signed requests): their OTA target, and reports on their update (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const deviceOtaRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const { store, ota, audit, clock } = context

  app.get(
    '/v1/devices/me/ota',
    {
      // Polls do not write last-seen: a fleet polling every few seconds would cost
      // an fsync per poll (synchronous=FULL); heartbeats keep last-seen current.
      config: { touchLastSeen: false },
      schema: {
        tags: ['devices', 'rollouts'],
        summary: 'The release this device should install now (from its latest rollout and wave), or {release: null} (signed device request)',
        security: [{ deviceSignature: [] }],
        response: responses({ 200: OtaTargetView }),
      },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      const latest = await store.rollouts.latestForDevice(device.id as DeviceId)
      if (latest === undefined) return { release: null }
      return otaTargetFor(latest.rollout, latest.member, await store.releases.findById(latest.rollout.releaseId))
    },
  )

  app.post<{ Body: Static<typeof ReportBody> }>(
    '/v1/devices/me/ota/report',
    {
      schema: {
        tags: ['devices', 'rollouts'],
        summary: 'Report a step or the outcome of this device\'s update (signed device request; a repeated report changes nothing; a backward step is refused with ROLLOUT_ERR_INVALID_TRANSITION)',
        security: [{ deviceSignature: [] }],
        body: ReportBody,
        response: responses({ 200: Type.Object({ state: DeviceOtaStateSchema, changed: Type.Boolean() }) }),
      },
    },
    async (request) => applyDeviceReport({ rollouts: store.rollouts, engine: ota.engine, audit, clock }, (request.device as DeviceRecord).id as DeviceId, request.body),
  )
}
