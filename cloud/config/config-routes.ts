import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { configReportExchange, configSyncExchange, type ConfigReport, type ConfigSyncRequest } from '../../shared/protocol/config-sync.js'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import type { ConfigDocKind } from './config-repository.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { bearerSecurity, GroupName, responses } from '../http/schemas.js'
import { DeviceParams } from '../devices/device-routes.js'
import type { HubRouteOptions } from '../http/route-options.js'

const AnyObject = Type.Object({}, { additionalProperties: true })
const Heads = Type.Array(Type.String(), { description: 'Automerge heads (change hashes), sorted' })

const EditBody = Type.Object(
  {
    set: Type.Optional(Type.Object({}, { additionalProperties: true, description: '{"dotted.key": value}: an object value at a section sets each of its keys' })),
    unset: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 1000, description: 'keys to remove from this layer (the layer below shows through)' })),
  },
  { additionalProperties: false },
)

const DocumentAnswer = Type.Object(
  {
    kind: Type.String(),
    name: Type.String(),
    values: AnyObject,
    heads: Heads,
    changes: Type.Integer(),
    group: Type.Optional(Type.String()),
    effective: Type.Optional(AnyObject),
    sources: Type.Optional(AnyObject),
    problems: Type.Optional(Type.Array(AnyObject)),
    twin: Type.Optional(AnyObject),
  },
  { additionalProperties: false },
)

const EffectiveQuery = Type.Object({ effective: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')])) }, { additionalProperties: false })
const HistoryQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }) }, { additionalProperties: false })
const GroupParams = Type.Object({ group: GroupName })

const HistoryAnswer = Type.Object({ kind: Type.String(), name: Type.String(), count: Type.Integer(), changes: Type.Array(AnyObject) })

const wantsEffective = (q: Static<typeof EffectiveQuery>) => q.effective === '1' || q.effective === 'true'

/**
 * Config documents at the hub: operators read and edit the group and device
 * documents (admins edit; every edit is audited and becomes one Automerge
 * change carrying who and from where); devices sync their own device document
 * and their group's (signed requests, long-poll) and report what they applied.
 */
export const configRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const docs = context.configDocs

  async function deviceOr404(id: string): Promise<DeviceRecord> {
    const device = await context.store.devices.findById(id as DeviceId)
    if (device === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no device ${id}`)
    return device
  }

  async function edit(kind: ConfigDocKind, name: string, body: Static<typeof EditBody>, actor: string) {
    const edit = { ...(body.set ? { set: body.set } : {}), ...(body.unset ? { unset: body.unset } : {}) }
    const view = await docs.edit(kind, name, edit, { user: actor, origin: 'hub' })
    context.metrics.configEdits.inc({ kind })
    await context.audit.record('config.edit', actor, `${kind}:${name}`, { set: body.set ?? {}, unset: body.unset ?? [], heads: view.heads })
    return view
  }

  app.get<{ Params: Static<typeof GroupParams> }>(
    '/v1/config/groups/:group',
    { onRequest: guards.anyRole, schema: { tags: ['config'], summary: 'The config document of a group: its values and heads', security: bearerSecurity, params: GroupParams, response: responses({ 200: DocumentAnswer }) } },
    async (request) => docs.view('group', request.params.group),
  )

  app.patch<{ Params: Static<typeof GroupParams>; Body: Static<typeof EditBody> }>(
    '/v1/config/groups/:group',
    {
      onRequest: guards.adminOnly,
      schema: { tags: ['config'], summary: 'Set and unset keys of a group\'s config document (checked against the edge config schema)', security: bearerSecurity, params: GroupParams, body: EditBody, response: responses({ 200: DocumentAnswer }) },
    },
    async (request) => edit('group', request.params.group, request.body, actorOf(request)),
  )

  app.get<{ Params: Static<typeof GroupParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/v1/config/groups/:group/history',
    { onRequest: guards.anyRole, schema: { tags: ['config'], summary: 'Changes to a group\'s config document, newest first: who, when, from where, what', security: bearerSecurity, params: GroupParams, querystring: HistoryQuery, response: responses({ 200: HistoryAnswer }) } },
    async (request) => historyAnswer('group', request.params.group, request.query.limit),
  )

  app.get<{ Params: Static<typeof DeviceParams>; Querystring: Static<typeof EffectiveQuery> }>(
    '/v1/config/devices/:deviceId',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['config'],
        summary: 'The config document of a device, its desired vs reported state (twin) and, with effective=1, the merged config (defaults < group < device)',
        security: bearerSecurity,
        params: DeviceParams,
        querystring: EffectiveQuery,
        response: responses({ 200: DocumentAnswer }),
      },
    },
    async (request) => {
      const device = await deviceOr404(request.params.deviceId)
      const view = await docs.view('device', device.id)
      const twin = await docs.twin(device.id, device.group)
      if (!wantsEffective(request.query)) return { ...view, group: device.group, twin }
      const effective = await docs.effective(device.id, device.group)
      return { ...view, group: device.group, twin, sources: effective.sources, ...(effective.config ? { effective: effective.config as Record<string, unknown> } : { problems: effective.problems as unknown as Record<string, unknown>[] }) }
    },
  )

  app.patch<{ Params: Static<typeof DeviceParams>; Body: Static<typeof EditBody> }>(
    '/v1/config/devices/:deviceId',
    {
      onRequest: guards.adminOnly,
      schema: { tags: ['config'], summary: 'Set and unset keys of a device\'s config document', security: bearerSecurity, params: DeviceParams, body: EditBody, response: responses({ 200: DocumentAnswer }) },
    },
    async (request) => {
      const device = await deviceOr404(request.params.deviceId)
      return { ...(await edit('device', device.id, request.body, actorOf(request))), group: device.group }
    },
  )

  app.get<{ Params: Static<typeof DeviceParams>; Querystring: Static<typeof HistoryQuery> }>(
    '/v1/config/devices/:deviceId/history',
    { onRequest: guards.anyRole, schema: { tags: ['config'], summary: 'Changes to a device\'s config document (from the hub and from the site), newest first', security: bearerSecurity, params: DeviceParams, querystring: HistoryQuery, response: responses({ 200: HistoryAnswer }) } },
    async (request) => historyAnswer('device', (await deviceOr404(request.params.deviceId)).id, request.query.limit),
  )

  async function historyAnswer(kind: ConfigDocKind, name: string, limit: number) {
    const changes = (await docs.history(kind, name)).reverse().slice(0, limit).map((c) => ({ ...c, at: new Date(c.at).toISOString() }))
    return { kind, name, count: changes.length, changes }
  }

}

/** Config sync and reports, by devices (registered in the device-signed scope: cloud/device-scope/device-signed-routes.ts). */
export const deviceConfigRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const docs = context.configDocs

  app.post<{ Body: ConfigSyncRequest }>(
    configSyncExchange.path,
    {
      schema: {
        tags: ['config'],
        summary: 'Automerge sync of the calling device\'s own config document and its group\'s (base64 messages); with waitMs, held open until there is something to send (long-poll)',
        security: [{ deviceSignature: [] }],
        body: configSyncExchange.body,
        response: responses({ [configSyncExchange.status]: configSyncExchange.answer }),
      },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      // The edge gave up (a local edit ends its long-poll): stop waiting for it.
      const closed = new AbortController()
      const onClose = () => closed.abort()
      request.socket.once('close', onClose)
      let answer
      try {
        answer = await docs.sync({ id: device.id, group: device.group }, request.body, closed.signal)
      } finally {
        request.socket.off('close', onClose)
      }
      context.metrics.configSyncs.inc()
      return answer
    },
  )
  app.post<{ Body: ConfigReport }>(
    configReportExchange.path,
    {
      schema: { tags: ['config'], summary: 'The device reports the config it applied: heads, errors (key and reason), keys waiting for a restart', security: [{ deviceSignature: [] }], body: configReportExchange.body, response: responses({ [configReportExchange.status]: configReportExchange.answer }) },
    },
    async (request) => {
      const device = request.device as DeviceRecord
      await docs.report(device.id, request.body as ConfigReport)
      return { inSync: (await docs.twin(device.id, device.group)).inSync }
    },
  )
}
