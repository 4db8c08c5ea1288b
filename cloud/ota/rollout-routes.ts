import { randomUUID } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { selectRolloutDevices } from './device-selection.js'
import { summariseRollout } from './rollout-summary.js'
import { memberOutcome } from './wave-evaluation.js'
import { assignWaves, planWaves } from './wave-plan.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { ReleaseId } from './release-repository.js'
import type { RolloutId, RolloutRecord, RolloutTarget } from './rollout-repository.js'
import { bearerSecurity, GroupName, responses } from '../http/schemas.js'
import { RolloutDeviceView, rolloutDeviceView, RolloutStateSchema, RolloutView, rolloutView } from './ota-views.js'
import { ReleaseParams } from './release-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { OtaDeviceStateSchema } from '../../shared/protocol/ota.js'

const LabelKey = Type.String({ pattern: '^[A-Za-z0-9._/-]{1,64}$' })

const WaveBody = Type.Object(
  {
    percent: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'Cumulative share of the targeted devices (rising; the last is 100)' }),
    healthyAfterSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86_400, description: 'Success criterion: committed, then heartbeats for this long (0: committed is enough). Default ota.healthyAfterSeconds' })),
    maxFailureRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Halt when failed devices / wave devices exceeds this. Default ota.maxFailureRate' })),
    timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'Devices unfinished this long after the wave started count as failed. Default ota.waveTimeoutSeconds' })),
  },
  { additionalProperties: false },
)

const CreateBody = Type.Object(
  {
    releaseId: ReleaseParams.properties.releaseId,
    target: Type.Object(
      { group: Type.Optional(GroupName), labels: Type.Optional(Type.Record(LabelKey, Type.String({ maxLength: 128 }), { additionalProperties: false, maxProperties: 64, description: 'Every label must match' })) },
      { additionalProperties: false, description: 'A group, labels, or both; {} targets every active device' },
    ),
    waves: Type.Array(WaveBody, { minItems: 1, maxItems: 20, default: [{ percent: 100 }] }),
    allowDowngrade: Type.Boolean({ default: false, description: 'Let devices install this release even over a higher installed version' }),
  },
  { additionalProperties: false },
)

const RolloutParams = Type.Object({ rolloutId: Type.String({ pattern: '^ro-[0-9a-f-]{36}$' }) })
const ListQuery = Type.Object(
  { state: Type.Optional(RolloutStateSchema), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), offset: Type.Integer({ minimum: 0, default: 0 }) },
  { additionalProperties: false },
)
const DevicesQuery = Type.Object(
  {
    wave: Type.Optional(Type.Integer({ minimum: 0, maximum: 19 })),
    state: Type.Optional(OtaDeviceStateSchema),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
)
type AbortBody = { reason?: unknown } | undefined

/** The optional abort body, {reason}: checked by hand because a route body schema would make the body compulsory. */
function abortReason(body: AbortBody): string {
  if (body === undefined || body === null || body.reason === undefined) return 'aborted by an admin'
  if (typeof body !== 'object' || typeof body.reason !== 'string' || body.reason.length === 0 || body.reason.length > 500 || Object.keys(body).length !== 1) {
    throw new CloudosError('HUB_ERR_INVALID_REQUEST', 'body must be {"reason": "<1-500 characters>"} or empty')
  }
  return body.reason
}

const ALL = Number.MAX_SAFE_INTEGER

export const rolloutRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const { store, audit, ota, config } = context
  const times = () => ({ now: context.clock(), heartbeatGraceMs: ota.heartbeatGraceMs })

  async function present(rollout: RolloutRecord) {
    return rolloutView(rollout, summariseRollout(rollout, await store.rollouts.members(rollout.id, { limit: ALL }), times()))
  }

  async function findRollout(id: string): Promise<RolloutRecord> {
    const rollout = await store.rollouts.findById(id as RolloutId)
    if (rollout === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no rollout ${id}`)
    return rollout
  }

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/v1/rollouts',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['rollouts'],
        summary: 'Roll a release out to a group or labelled devices in waves; the first wave starts now (admin; audited)',
        security: bearerSecurity,
        body: CreateBody,
        response: responses({ 201: Type.Object({ ...RolloutView.properties, excludedByBundleTarget: Type.Array(Type.String(), { description: 'Targeted devices whose arch or tier the bundle does not fit: left out' }) }) }),
      },
    },
    async (request, reply) => {
      const body = request.body
      const release = await store.releases.findById(body.releaseId as ReleaseId)
      if (release === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no release ${body.releaseId}`)
      const plans = planWaves(body.waves, { healthyAfterSeconds: config.ota.healthyAfterSeconds, maxFailureRate: config.ota.maxFailureRate, timeoutSeconds: config.ota.waveTimeoutSeconds })
      const target: RolloutTarget = { ...(body.target.group === undefined ? {} : { group: body.target.group }), ...(body.target.labels === undefined ? {} : { labels: body.target.labels }) }
      const { selected, excludedByBundleTarget } = await selectRolloutDevices(store.devices, target, release.manifest)
      if (selected.length === 0) {
        throw new CloudosError('ROLLOUT_ERR_NO_DEVICES', `no active device matches ${JSON.stringify(target)}${excludedByBundleTarget.length > 0 ? ` that the bundle's target fits (${excludedByBundleTarget.length} left out by arch or tier)` : ''}`)
      }
      const id = `ro-${randomUUID()}` as RolloutId
      const now = context.clock()
      const { members, waves } = assignWaves(id, selected.map((d) => d.id as DeviceId), plans)
      waves[0] = { ...(waves[0] as (typeof waves)[number]), state: 'running', startedAt: now }
      const rollout: RolloutRecord = {
        id,
        releaseId: release.id,
        target,
        allowDowngrade: body.allowDowngrade,
        state: 'running',
        currentWave: 0,
        waves,
        createdBy: actorOf(request),
        createdAt: now,
        updatedAt: now,
        pausedAt: null,
        finishedAt: null,
        reason: null,
      }
      const created = await store.rollouts.create(rollout, members)
      if (!created.created) {
        throw new CloudosError('ROLLOUT_ERR_DEVICE_BUSY', `some targeted devices are in rollouts still running or paused: ${created.busyIn.join(', ')}`, { rollouts: created.busyIn })
      }
      await audit.record('rollout.create', actorOf(request), id, {
        releaseId: release.id,
        name: release.name,
        version: release.version,
        target,
        devices: members.length,
        waves: waves.map((w) => ({ percent: w.percent, devices: w.deviceCount, healthyAfterSeconds: w.healthyAfterSeconds, maxFailureRate: w.maxFailureRate, timeoutSeconds: w.timeoutSeconds })),
        allowDowngrade: rollout.allowDowngrade,
        excludedByBundleTarget: excludedByBundleTarget.length,
      })
      await audit.record('rollout.wave_started', 'hub', id, { wave: 0, percent: waves[0]?.percent, devices: waves[0]?.deviceCount })
      // An empty first wave passes at once.
      await ota.engine.evaluate(id)
      return reply.status(201).send({ ...(await present(await findRollout(id))), excludedByBundleTarget: excludedByBundleTarget.map((d) => d.id) })
    },
  )

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/rollouts',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['rollouts'], summary: 'Rollouts, newest first, with counts per device state and per wave', security: bearerSecurity, querystring: ListQuery, response: responses({ 200: Type.Object({ count: Type.Integer(), rollouts: Type.Array(RolloutView) }) }) },
    },
    async (request) => {
      const rollouts = await store.rollouts.list(request.query)
      return { count: rollouts.length, rollouts: await Promise.all(rollouts.map(present)) }
    },
  )

  app.get<{ Params: Static<typeof RolloutParams> }>(
    '/v1/rollouts/:rolloutId',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['rollouts'], summary: 'One rollout: state, waves, counts per device state and outcome, overall and per wave', security: bearerSecurity, params: RolloutParams, response: responses({ 200: RolloutView }) },
    },
    async (request) => present(await findRollout(request.params.rolloutId)),
  )

  app.get<{ Params: Static<typeof RolloutParams>; Querystring: Static<typeof DevicesQuery> }>(
    '/v1/rollouts/:rolloutId/devices',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['rollouts'],
        summary: 'The rollout\'s devices (by wave, then id) with their reported state and outcome',
        security: bearerSecurity,
        params: RolloutParams,
        querystring: DevicesQuery,
        response: responses({ 200: Type.Object({ count: Type.Integer(), devices: Type.Array(RolloutDeviceView) }) }),
      },
    },
    async (request) => {
      const rollout = await findRollout(request.params.rolloutId)
      const members = await store.rollouts.members(rollout.id, request.query)
      const now = times()
      return {
        count: members.length,
        devices: members.map((m) => rolloutDeviceView(m, memberOutcome(m, rollout.waves[m.wave] as (typeof rollout.waves)[number], now))),
      }
    },
  )

  const action = (name: 'pause' | 'resume' | 'abort', summary: string) =>
    app.post<{ Params: Static<typeof RolloutParams>; Body: AbortBody }>(
      `/v1/rollouts/:rolloutId/${name}`,
      {
        onRequest: guards.adminOnly,
        schema: { tags: ['rollouts'], summary, security: bearerSecurity, params: RolloutParams, response: responses({ 200: RolloutView }) },
      },
      async (request) => {
        const id = (await findRollout(request.params.rolloutId)).id
        const actor = actorOf(request)
        const rollout =
          name === 'pause'
            ? await ota.engine.pause(id, actor)
            : name === 'resume'
              ? await ota.engine.resume(id, actor)
              : await ota.engine.abort(id, actor, abortReason(request.body))
        return present(rollout)
      },
    )
  action('pause', 'Pause a running rollout: devices that have not started get no release; those installing finish (admin; audited)')
  action('resume', 'Resume a paused rollout; the wave timeout does not count the pause (admin; audited)')
  action('abort', 'Abort a running, paused or halted rollout for good; body {reason} optional (admin; audited)')
}
