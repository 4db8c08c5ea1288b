import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { hashBearerToken, newBearerToken } from '../http/bearer-token.js'
import { decoyPasswordHash, verifyPassword } from './password.js'
import { verifyTotp } from './totp.js'
import { responses, RoleSchema } from '../http/schemas.js'
import type { UserRecord } from './user-repository.js'
import type { HubRouteOptions } from '../http/route-options.js'

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    totp: Type.String({ minLength: 1, maxLength: 16, description: 'Current 6-digit code from the authenticator app' }),
  },
  { additionalProperties: false },
)

const LoginAnswer = Type.Object({
  token: Type.String({ description: 'Send as "Authorization: Bearer <token>"' }),
  tokenType: Type.Literal('Bearer'),
  expiresAt: Type.String({ format: 'date-time' }),
  username: Type.String(),
  role: RoleSchema,
})

/** Why a login failed: recorded in the audit log, never told to the caller. */
type LoginFailure = 'unknown_user' | 'bad_password' | 'bad_totp' | 'totp_replayed'

export const authRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context }) => {
  const { auth } = context.config

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with password and TOTP code; returns a short-lived bearer token',
        body: LoginBody,
        response: responses({ 200: LoginAnswer }),
      },
      config: {
        rateLimit: {
          max: auth.loginRateLimitMax,
          timeWindow: auth.loginRateLimitWindowSeconds * 1000,
          onExceeded: () => context.metrics.logins.inc({ outcome: 'rate_limited' }),
        },
      },
    },
    async (request) => {
      const { username, password, totp } = request.body
      const checked = await checkCredentials(username, password, totp)
      if (!checked.ok) {
        context.metrics.logins.inc({ outcome: 'failed' })
        await context.audit.record('auth.login_failed', 'anonymous', username, { reason: checked.failure, ip: request.ip })
        // One answer for every cause: the caller learns nothing about which factor was wrong.
        throw new CloudosError('HUB_ERR_LOGIN_FAILED', 'login failed: wrong username, password or code (or the code was already used)')
      }
      const { user } = checked
      const token = newBearerToken()
      const now = context.clock()
      const expiresAt = now + auth.tokenTtlSeconds * 1000
      await context.store.sessions.create({ tokenHash: hashBearerToken(token), userId: user.id, createdAt: now, expiresAt })
      await context.store.sessions.deleteExpired(now)
      context.metrics.logins.inc({ outcome: 'ok' })
      await context.audit.record('auth.login', `user:${username}`, username, { ip: request.ip })
      await context.audit.record('auth.token_created', `user:${username}`, username, { expiresAt: new Date(expiresAt).toISOString(), tokenHashPrefix: hashBearerToken(token).slice(0, 12) })
      return { token, tokenType: 'Bearer' as const, expiresAt: new Date(expiresAt).toISOString(), username, role: user.role }
    },
  )

  async function checkCredentials(username: string, password: string, code: string): Promise<{ ok: true; user: UserRecord } | { ok: false; failure: LoginFailure }> {
    const user = await context.store.users.findByUsername(username)
    if (user === undefined) {
      await verifyPassword(password, await decoyPasswordHash())
      return { ok: false, failure: 'unknown_user' }
    }
    if (!(await verifyPassword(password, user.passwordHash))) return { ok: false, failure: 'bad_password' }
    const step = await verifyTotp(user.totpSecret, code, context.clock(), auth.totpToleranceSteps)
    if (step === null) return { ok: false, failure: 'bad_totp' }
    // Claimed atomically: of two logins racing with one code, one wins.
    if (!(await context.store.users.claimTotpStep(user.id, step))) return { ok: false, failure: 'totp_replayed' }
    return { ok: true, user }
  }
}
