import type { FastifyPluginAsync } from 'fastify'
import { otaReportExchange, otaTargetExchange, type OtaReport } from '../../shared/protocol/ota.js'
import { applyDeviceReport } from './device-reports.js'
import { otaTargetFor } from './ota-target.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { responses } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

/** What devices call (signed requests): their OTA target, and reports on their update (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const deviceOtaRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const { store, ota, audit, clock } = context

  app.get(
    otaTargetExchange.path,
    {
      // Polls do not write last-seen: a fleet polling every few seconds would cost
      // an fsync per poll (synchronous=FULL); heartbeats keep last-seen current.
      config: { touchLastSeen: false },
      schema: {
        tags: ['devices', 'rollouts'],
        summary: 'The release this device should install now (from its latest rollout and wave), or {release: null} (signed device request)',
        security: [{ deviceSignature: [] }],
        response: responses({ [otaTargetExchange.status]: otaTargetExchange.answer }),
      },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      const latest = await store.rollouts.latestForDevice(device.id as DeviceId)
      if (latest === undefined) return { release: null }
      return otaTargetFor(latest.rollout, latest.member, await store.releases.findById(latest.rollout.releaseId))
    },
  )

  app.post<{ Body: OtaReport }>(
    otaReportExchange.path,
    {
      schema: {
        tags: ['devices', 'rollouts'],
        summary: 'Report a step or the outcome of this device\'s update (signed device request; a repeated report changes nothing; a backward step is refused with ROLLOUT_ERR_INVALID_TRANSITION)',
        security: [{ deviceSignature: [] }],
        body: otaReportExchange.body,
        response: responses({ [otaReportExchange.status]: otaReportExchange.answer }),
      },
    },
    async (request) => applyDeviceReport({ rollouts: store.rollouts, engine: ota.engine, audit, clock }, (request.device as DeviceRecord).id as DeviceId, request.body),
  )
}
