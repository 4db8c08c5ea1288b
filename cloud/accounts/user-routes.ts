import { randomUUID } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { hashPassword, MIN_PASSWORD_LENGTH } from './password.js'
import { newTotpSecret, totpUri } from './totp.js'
import type { UserId, UserRecord } from './user-repository.js'
import { bearerSecurity, responses, RoleSchema, Username } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'

const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  createdAt: Type.String({ format: 'date-time' }),
  disabled: Type.Boolean({ description: 'A disabled account cannot log in; its tokens were revoked when it was disabled' }),
})

const UserParams = Type.Object({ username: Username })

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

const publicUser = (user: UserRecord) => ({ id: user.id, username: user.username, role: user.role, createdAt: new Date(user.createdAt).toISOString(), disabled: user.disabledAt !== null })

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

  /** The named account, or 404. */
  async function existing(username: string): Promise<UserRecord> {
    const user = await context.store.users.findByUsername(username)
    if (user === undefined) throw new CloudosError('HUB_ERR_NOT_FOUND', `no user "${username}"`)
    return user
  }

  /** Refuses to leave the hub without an enabled admin (nobody could undo it). */
  async function keepAnAdmin(user: UserRecord, action: string): Promise<void> {
    if (user.role !== 'admin' || user.disabledAt !== null) return
    const admins = (await context.store.users.list()).filter((u) => u.role === 'admin' && u.disabledAt === null)
    if (admins.length <= 1) throw new CloudosError('HUB_ERR_LAST_ADMIN', `"${user.username}" is the last enabled admin: it cannot be ${action}`)
  }

  const adminRoute = (summary: string, response: Record<number, ReturnType<typeof Type.Object>>) => ({
    onRequest: guards.adminOnly,
    schema: { tags: ['users'], summary, security: bearerSecurity, params: UserParams, response: responses(response) },
  })

  app.post<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:username/revoke-sessions',
    adminRoute('Revoke every bearer token of an account (it must log in again); audited', { 200: Type.Object({ username: Type.String(), revoked: Type.Integer() }) }),
    async (request) => {
      const user = await existing(request.params.username)
      const revoked = await context.store.sessions.deleteForUser(user.id)
      await context.audit.record('user.sessions_revoked', actorOf(request), user.username, { revoked })
      return { username: user.username, revoked }
    },
  )

  app.post<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:username/disable',
    adminRoute('Disable an account: it cannot log in and its tokens stop working at once; audited', { 200: User }),
    async (request) => {
      const user = await existing(request.params.username)
      if (user.disabledAt === null) {
        await keepAnAdmin(user, 'disabled')
        await context.store.users.setDisabled(user.id, context.clock())
        const revoked = await context.store.sessions.deleteForUser(user.id)
        await context.audit.record('user.disable', actorOf(request), user.username, { revoked })
      }
      return publicUser(await existing(user.username))
    },
  )

  app.post<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:username/enable',
    adminRoute('Enable a disabled account again (it logs in afresh); audited', { 200: User }),
    async (request) => {
      const user = await existing(request.params.username)
      if (user.disabledAt !== null) {
        await context.store.users.setDisabled(user.id, null)
        await context.audit.record('user.enable', actorOf(request), user.username)
      }
      return publicUser(await existing(user.username))
    },
  )

  app.delete<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:username',
    adminRoute('Delete an account and all its tokens; audited (its past audit entries stay)', { 200: Type.Object({ username: Type.String(), deleted: Type.Literal(true) }) }),
    async (request) => {
      const user = await existing(request.params.username)
      await keepAnAdmin(user, 'deleted')
      await context.store.users.delete(user.id)
      await context.audit.record('user.delete', actorOf(request), user.username, { role: user.role })
      return { username: user.username, deleted: true as const }
    },
  )
}
