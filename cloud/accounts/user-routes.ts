import { randomUUID } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { actorOf } from '../http/auth-guards.js'
import { hashPassword, MIN_PASSWORD_LENGTH } from './password.js'
import { newTotpSecret, totpUri } from './totp.js'
import type { UserId, UserRecord } from './user-repository.js'
import { bearerSecurity, responses, RoleSchema, Username } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

const User = Type.Object({ id: Type.String(), username: Type.String(), role: RoleSchema, createdAt: Type.String({ format: 'date-time' }) })

const CreateUserBody = Type.Object(
  {
    username: Username,
    password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
    role: Type.Optional(RoleSchema),
  },
  { additionalProperties: false },
)

const CreatedUser = Type.Object({
  ...User.properties,
  otpauthUri: Type.String({ description: 'TOTP secret for the new account\'s authenticator app: shown once, hand it over securely' }),
})

const publicUser = (user: UserRecord) => ({ id: user.id, username: user.username, role: user.role, createdAt: new Date(user.createdAt).toISOString() })

export const userRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.get(
    '/v1/users',
    {
      onRequest: guards.anyRole,
      schema: { tags: ['users'], summary: 'List accounts', security: bearerSecurity, response: responses({ 200: Type.Object({ users: Type.Array(User) }) }) },
    },
    async () => ({ users: (await context.store.users.list()).map(publicUser) }),
  )

  app.post<{ Body: Static<typeof CreateUserBody> }>(
    '/v1/users',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['users'],
        summary: 'Create an account (viewer by default) with its own TOTP secret',
        security: bearerSecurity,
        body: CreateUserBody,
        response: responses({ 201: CreatedUser }),
      },
    },
    async (request, reply) => {
      const { username, password, role = 'viewer' } = request.body
      const totpSecret = newTotpSecret()
      const user = await context.store.users.create({
        id: randomUUID() as UserId,
        username,
        role,
        passwordHash: await hashPassword(password),
        totpSecret,
        createdAt: context.clock(),
      })
      await context.audit.record('user.create', actorOf(request), username, { role })
      return reply.status(201).send({ ...publicUser(user), otpauthUri: totpUri(totpSecret, username) })
    },
  )
}
