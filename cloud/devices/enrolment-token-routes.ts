import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { actorOf } from '../http/auth-guards.js'
import type { EnrolmentTokenRecord } from './enrolment-token-repository.js'
import { bearerSecurity, GroupName, responses, TierSchema } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

const CreateTokenBody = Type.Object(
  {
    group: GroupName,
    tier: TierSchema,
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400, description: 'Lifetime; enrolment.tokenTtlSeconds by default' })),
  },
  { additionalProperties: false },
)

const TokenStatus = Type.Union([Type.Literal('unused'), Type.Literal('used'), Type.Literal('expired')])

const TokenInfo = Type.Object({
  id: Type.String(),
  group: Type.String(),
  tier: TierSchema,
  status: TokenStatus,
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  usedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  deviceId: Type.Union([Type.String(), Type.Null()]),
})

const CreatedToken = Type.Object({
  ...TokenInfo.properties,
  token: Type.String({ description: 'Give this to the device that will enrol with it (`cloudos edge --enroll-token`): `<secret>.<CA pin hex>`, see docs/hub.md. Shown once, only the secret\'s hash is stored' }),
  caPin: Type.Union([Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }), Type.Null()], { description: 'The hub CA pin the token carries (null: a hub without a CA)' }),
})

const iso = (ms: number) => new Date(ms).toISOString()

export const enrolmentTokenRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const info = (t: EnrolmentTokenRecord) => ({
    id: t.id,
    group: t.group,
    tier: t.tier,
    status: t.usedAt !== null ? ('used' as const) : t.expiresAt <= context.clock() ? ('expired' as const) : ('unused' as const),
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt),
    expiresAt: iso(t.expiresAt),
    usedAt: t.usedAt === null ? null : iso(t.usedAt),
    deviceId: t.deviceId,
  })

  app.post<{ Body: Static<typeof CreateTokenBody> }>(
    '/v1/enrolment-tokens',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['enrolment'],
        summary: 'Create a single-use enrolment token for one device of a group and tier',
        security: bearerSecurity,
        body: CreateTokenBody,
        response: responses({ 201: CreatedToken }),
      },
    },
    async (request, reply) => {
      const { record, token, caPin } = await context.enrolment.issueToken({ ...request.body, actor: actorOf(request) })
      return reply.status(201).send({ ...info(record), token, caPin: caPin ?? null })
    },
  )

  app.get(
    '/v1/enrolment-tokens',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['enrolment'],
        summary: 'List enrolment tokens (never their values)',
        security: bearerSecurity,
        response: responses({ 200: Type.Object({ tokens: Type.Array(TokenInfo) }) }),
      },
    },
    async () => ({ tokens: (await context.store.enrolmentTokens.list()).map(info) }),
  )
}
