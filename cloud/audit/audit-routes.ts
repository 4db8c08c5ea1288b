import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { bearerSecurity, responses } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

const AuditQuery = Type.Object(
  {
    afterSeq: Type.Integer({ minimum: 0, default: 0, description: 'Return entries after this seq (paging)' }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
)

const AuditEntry = Type.Object({
  seq: Type.Integer(),
  ts: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  target: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
  prevHash: Type.String(),
  hash: Type.String(),
})

const Verification = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer(),
  problem: Type.Optional(Type.Object({ kind: Type.String(), seq: Type.Integer(), message: Type.String() })),
  head: Type.Union([Type.Object({ seq: Type.Integer(), hash: Type.String(), signature: Type.String() }), Type.Null()], {
    description: 'The signed head as stored: keep a copy off the machine to prove the past later',
  }),
})

export const auditRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/v1/audit',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['audit'],
        summary: 'Audit log entries, oldest first',
        security: bearerSecurity,
        querystring: AuditQuery,
        response: responses({ 200: Type.Object({ entries: Type.Array(AuditEntry) }) }),
      },
    },
    async (request) => {
      const entries = await context.store.audit.list({ afterSeq: request.query.afterSeq, limit: request.query.limit })
      return { entries: entries.map((e) => ({ ...e, ts: new Date(e.ts).toISOString() })) }
    },
  )

  app.get(
    '/v1/audit/verify',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['audit'], summary: 'Recompute the hash chain and check the signed head', security: bearerSecurity, response: responses({ 200: Verification }) },
    },
    async () => {
      const result = await context.audit.verify()
      const head = (await context.store.audit.head()) ?? null
      return result.ok ? { ok: true, entries: result.entries, head } : { ok: false, entries: result.entries, problem: result.problem, head }
    },
  )
}
