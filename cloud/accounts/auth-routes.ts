import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { actorOf } from '../http/auth-guards.js'
import { hashBearerToken, newBearerToken } from '../http/bearer-token.js'
import { createRateLimiter } from '../http/rate-limiter.js'
import { decoyPasswordHash, verifyPassword } from './password.js'
import { verifyTotp } from './totp.js'
import { bearerSecurity, Nullable, responses, RoleSchema } from '../http/schemas.js'
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

const LogoutBody = Nullable(
  Type.Object(
    { allSessions: Type.Optional(Type.Boolean({ default: false, description: 'Also revoke every other token of this account (log out everywhere)' })) },
    { additionalProperties: false },
  ),
)

/** Why a login failed: counted in the `auth.failures` summaries, never told to the caller. */
type LoginFailure = 'unknown_user' | 'bad_password' | 'bad_totp' | 'totp_replayed' | 'disabled'

export const authRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  const { auth, rateLimits } = context.config
  const windowMs = auth.loginRateLimitWindowSeconds * 1000
  const onRefused = () => context.metrics.logins.inc({ outcome: 'rate_limited' })
  // Per client: request.ip, the real client behind a proxy only when http.trustProxy names it.
  const perClient = createRateLimiter(app, { name: 'login_client', max: auth.loginRateLimitMax, windowMs, key: (request) => request.ip, trackedKeys: rateLimits.trackedKeys, onRefused }, context.metrics)
  // Per account: failed attempts on one username from every address together (a guesser with many addresses).
  const perAccount = createRateLimiter(
    app,
    { name: 'login_account', max: auth.accountLoginFailuresMax, windowMs, key: (request) => (request.body as { username: string }).username.toLowerCase(), trackedKeys: rateLimits.trackedKeys, onRefused },
    context.metrics,
  )

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/v1/auth/login',
    {
      onRequest: perClient.consume,
      preHandler: perAccount.check,
      schema: {
        tags: ['auth'],
        summary: 'Log in with password and TOTP code; returns a short-lived bearer token',
        description: 'Rate-limited per client address (auth.loginRateLimitMax) and per account (auth.accountLoginFailuresMax failed attempts) per auth.loginRateLimitWindowSeconds: 429 HUB_ERR_RATE_LIMITED with Retry-After.',
        body: LoginBody,
        response: responses({ 200: LoginAnswer }),
      },
    },
    async (request) => {
      const { username, password, totp } = request.body
      const checked = await checkCredentials(username, password, totp)
      if (!checked.ok) {
        context.metrics.logins.inc({ outcome: 'failed' })
        await perAccount.count(request)
        context.authFailures.record({ kind: 'login', source: request.ip, code: checked.failure, claimedId: username })
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

  app.post<{ Body: Static<typeof LogoutBody> }>(
    '/v1/auth/logout',
    {
      onRequest: guards.anyRole,
      schema: {
        tags: ['auth'],
        summary: 'Log out: revokes the bearer token of this request (with {"allSessions": true}, every token of the account); audited',
        security: bearerSecurity,
        body: LogoutBody,
        response: responses({ 200: Type.Object({ revoked: Type.Integer({ description: 'Tokens revoked' }) }) }),
      },
    },
    async (request) => {
      const principal = request.principal as NonNullable<typeof request.principal>
      const everywhere = request.body?.allSessions === true
      const revoked = everywhere ? await context.store.sessions.deleteForUser(principal.userId) : Number(await context.store.sessions.delete(principal.tokenHash))
      await context.audit.record('auth.logout', actorOf(request), principal.username, { allSessions: everywhere, revoked, tokenHashPrefix: principal.tokenHash.slice(0, 12) })
      return { revoked }
    },
  )

  async function checkCredentials(username: string, password: string, code: string): Promise<{ ok: true; user: UserRecord } | { ok: false; failure: LoginFailure }> {
    const user = await context.store.users.findByUsername(username)
    if (user === undefined) {
      await verifyPassword(password, await decoyPasswordHash())
      return { ok: false, failure: 'unknown_user' }
    }
    if (!(await verifyPassword(password, user.passwordHash))) return { ok: false, failure: 'bad_password' }
    // After the password: only someone who knows it learns (through the audit, not the answer) that the account is disabled.
    if (user.disabledAt !== null) return { ok: false, failure: 'disabled' }
    const step = await verifyTotp(user.totpSecret, code, context.clock(), auth.totpToleranceSteps)
    if (step === null) return { ok: false, failure: 'bad_totp' }
    // Claimed atomically: of two logins racing with one code, one wins.
    if (!(await context.store.users.claimTotpStep(user.id, step))) return { ok: false, failure: 'totp_replayed' }
    return { ok: true, user }
  }
}
