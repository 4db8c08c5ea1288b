import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { CloudosError } from '../../shared/errors.js'

const sha256 = (text: string) => createHash('sha256').update(text).digest()

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string): boolean {
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'))
}

/**
 * Who may read GET /metrics (counts of logins, failures, devices, requests:
 * reconnaissance for an attacker). With `metrics.token` configured, a request
 * must carry it as a bearer token (compared in constant time, over hashes so
 * the length does not leak either); without one, only loopback clients are
 * answered (request.ip: with http.trustProxy set, the real client behind the proxy).
 */
export function metricsGuard(token: string | undefined): (request: FastifyRequest) => Promise<void> {
  const expected = token === undefined ? undefined : sha256(token)
  return async (request) => {
    if (expected === undefined) {
      if (!isLoopbackAddress(request.ip)) {
        throw new CloudosError('HUB_ERR_METRICS_LOOPBACK_ONLY', `GET /metrics answers loopback clients only when no metrics.token is configured (this request came from ${request.ip})`)
      }
      return
    }
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')
    if (match === null || !timingSafeEqual(sha256(match[1] as string), expected)) {
      throw new CloudosError('HUB_ERR_METRICS_TOKEN_REQUIRED', 'GET /metrics needs "Authorization: Bearer <metrics.token>"')
    }
  }
}
