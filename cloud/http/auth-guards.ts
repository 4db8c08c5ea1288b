import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import type { HubContext } from './context.js'
import type { Role, UserId } from '../accounts/user-repository.js'
import { hashBearerToken } from './bearer-token.js'

/** Who made the request, once the bearer token is checked. */
export interface Principal {
  userId: UserId
  username: string
  role: Role
  /** sha256 of the bearer token this request carries (logout revokes it). */
  tokenHash: string
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

export interface AuthGuards {
  /** Any logged-in account (admin or viewer): read routes. */
  readonly anyRole: onRequestHookHandler
  /** Admins only: every route that changes something. */
  readonly adminOnly: onRequestHookHandler
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{20,200})$/

export function authGuards(context: HubContext): AuthGuards {
  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const match = BEARER.exec(request.headers.authorization ?? '')
    if (match === null) {
      throw new CloudosError('HUB_ERR_UNAUTHENTICATED', 'this route needs "Authorization: Bearer <token>" from POST /v1/auth/login')
    }
    const tokenHash = hashBearerToken(match[1] as string)
    const session = await context.store.sessions.findValid(tokenHash, context.clock())
    const user = session && (await context.store.users.findById(session.userId))
    // Looked up on every request, so a revoked token, a disabled or a deleted account stops working at once.
    if (user === undefined || user.disabledAt !== null) {
      throw new CloudosError('HUB_ERR_UNAUTHENTICATED', 'the bearer token is unknown or has expired (or was revoked, or its account disabled)')
    }
    const principal: Principal = { userId: user.id, username: user.username, role: user.role, tokenHash }
    request.principal = principal
    return principal
  }

  return {
    anyRole: async (request: FastifyRequest, _reply: FastifyReply) => {
      await authenticate(request)
    },
    adminOnly: async (request: FastifyRequest, _reply: FastifyReply) => {
      const principal = await authenticate(request)
      if (principal.role !== 'admin') {
        throw new CloudosError('HUB_ERR_FORBIDDEN', `${request.method} ${request.routeOptions.url ?? request.url} needs the admin role; "${principal.username}" is a ${principal.role}`)
      }
    },
  }
}

/** `user:<name>` for the audit log. */
export function actorOf(request: FastifyRequest): string {
  return request.principal === null ? 'anonymous' : `user:${request.principal.username}`
}
