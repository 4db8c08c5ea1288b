import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CloudosError, type ErrorCode } from '../../../shared/errors.js'

export interface RequestGuardOptions {
  /** The bearer token in effect (re-read on rotation). */
  token: () => string
  /** `http.host`: a Host header naming it is accepted besides the loopback names. */
  configuredHost: string
  /** Counts each refusal by code (exported in /metrics). */
  onRefused: (code: ErrorCode) => void
}

/** Names a browser on this machine uses for a loopback listener. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1'])
/** Wildcard listen addresses: they name no host a client would put in a Host header. */
const WILDCARDS = new Set(['0.0.0.0', '::', ''])
/** Read-only methods (RFC 9110 section 9.2.1, safe methods). */
const SAFE_METHODS = new Set(['GET', 'HEAD'])
/** Liveness probes (load balancers, supervisors) get /healthz without a token. */
const ALWAYS_OPEN = new Set(['/healthz'])

/** The host name of a Host header (RFC 9110 section 7.2: host [":" port]; IPv6 literals in brackets), lower case, or undefined when malformed. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header.length === 0 || header.length > 255) return undefined
  const value = header.trim().toLowerCase()
  if (value.startsWith('[')) {
    const end = value.indexOf(']')
    if (end < 0) return undefined
    const rest = value.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined
    return value.slice(1, end)
  }
  const colon = value.indexOf(':')
  if (colon >= 0 && (value.indexOf(':', colon + 1) >= 0 || !/^\d{1,5}$/.test(value.slice(colon + 1)))) return undefined
  const name = colon < 0 ? value : value.slice(0, colon)
  return name.endsWith('.') ? name.slice(0, -1) : name
}

function normalisedHost(host: string): string {
  const lower = host.trim().toLowerCase()
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower
}

/** Whether a peer address is this machine (a Unix socket peer has none: the file's permissions guard it). */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return true
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

/** Equal-time comparison of two secrets of any length (their SHA-256 digests are compared). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header)
  return match?.[1]
}

/**
 * The local API's front door, before routing:
 * 1. DNS rebinding: a page on another site can make a browser on this
 *    machine send requests to 127.0.0.1 under the attacker's name; its Host
 *    header then carries that name. Only loopback names and the configured
 *    `http.host` are served (API_ERR_HOST_REFUSED, 403).
 * 2. Every state-changing request (any method but GET/HEAD), and every read
 *    from another machine except /healthz, needs `Authorization: Bearer
 *    <token>` (API_ERR_UNAUTHORIZED, 401, `WWW-Authenticate: Bearer` as
 *    RFC 6750 section 3 asks).
 */
export function installRequestGuard(app: FastifyInstance, options: RequestGuardOptions): void {
  const allowedHosts = new Set(LOOPBACK_NAMES)
  const configured = normalisedHost(options.configuredHost)
  if (!WILDCARDS.has(configured)) allowedHosts.add(configured)
  const refuse = (code: ErrorCode, message: string) => {
    options.onRefused(code)
    return new CloudosError(code, message)
  }
  app.addHook('onRequest', async (request, reply) => {
    const host = hostNameOf(request.headers.host)
    if (host === undefined || !allowedHosts.has(host)) {
      throw refuse('API_ERR_HOST_REFUSED', `Host ${JSON.stringify(request.headers.host ?? null)} is not served here: use ${[...allowedHosts].join(', ')}`)
    }
    const path = request.url.split('?')[0] as string
    const readOnly = SAFE_METHODS.has(request.method)
    if (readOnly && (ALWAYS_OPEN.has(path) || isLoopbackPeer(request.socket.remoteAddress))) return
    const given = bearerOf(request)
    if (given === undefined || !sameSecret(given, options.token())) {
      void reply.header('www-authenticate', `Bearer realm="cloudos-edge"${given === undefined ? '' : ', error="invalid_token"'}`)
      throw refuse(
        'API_ERR_UNAUTHORIZED',
        given === undefined
          ? `${request.method} ${path} needs Authorization: Bearer <token> (the token is in the edge's data dir, file api-token)`
          : `${request.method} ${path}: the bearer token is not this edge's token`,
      )
    }
  })
}
