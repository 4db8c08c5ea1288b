import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../../shared/errors.js'
import type { EdgeApiContext } from '../context.js'

const EditBody = Type.Object(
  {
    set: Type.Optional(Type.Object({}, { additionalProperties: true })),
    unset: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 1000 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Who is editing (kept in the change history); "technician" when absent' })),
  },
  { additionalProperties: false },
)

const HistoryQuery = Type.Object(
  {
    doc: Type.Union([Type.Literal('device'), Type.Literal('group')], { default: 'device' }),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false },
)

/**
 * The edge's config: `GET /v1/config` (effective config, layers, applied
 * heads, errors, keys waiting for a restart, sync status), `PATCH /v1/config`
 * (a technician's edit of the device document, works offline) and
 * `GET /v1/config/history`.
 *
 * PATCH never sets a device-local key (`x-device-local` in the schema: trust,
 * code, listeners, paths): those are refused and listed in `refused`
 * (CONFIG_ERR_DEVICE_LOCAL_KEY) while the rest of the edit applies (200); an
 * edit made only of them answers 403 CONFIG_ERR_DEVICE_LOCAL_KEY.
 */
export const configRoutes: FastifyPluginAsync<{ context: EdgeApiContext }> = async (app, { context }) => {
  const agent = () => {
    const config = context.config
    if (config === undefined) throw new CloudosError('API_ERR_NOT_FOUND', 'this edge runs without config documents')
    return config
  }

  app.get('/v1/config', async () => {
    const { agent: configAgent, syncStatus } = agent()
    return { ...configAgent.status(), sync: syncStatus() }
  })

  app.patch<{ Body: Static<typeof EditBody> }>('/v1/config', { schema: { body: EditBody } }, async (request) => {
    const { agent: configAgent, syncStatus } = agent()
    const { user, ...edit } = request.body
    const { refused } = configAgent.edit(edit, user ?? 'technician')
    return { ...configAgent.status(), sync: syncStatus(), refused }
  })

  app.get<{ Querystring: Static<typeof HistoryQuery> }>('/v1/config/history', { schema: { querystring: HistoryQuery } }, async (request) => {
    const changes = agent()
      .agent.history(request.query.doc)
      .reverse()
      .slice(0, request.query.limit)
      .map((c) => ({ ...c, at: new Date(c.at).toISOString() }))
    return { doc: request.query.doc, count: changes.length, changes }
  })
}
