import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import type { HubMetrics } from './metrics.js'

/** Which limit refused a request: the `limit` label of cloudos_hub_rate_limited_total and `details.limit` of the 429. */
export type RateLimitName = 'login_client' | 'login_account' | 'device' | 'device_source' | 'enrolment_source' | 'unverified_bodies'

export interface RateLimitSpec {
  name: RateLimitName
  max: number
  windowMs: number
  /** The bucket a request counts in (a device id, a client address, an account). */
  key: (request: FastifyRequest) => string
  /** Most keys remembered (LRU): the limiter's memory is bounded whatever the callers send. */
  trackedKeys: number
  /** Called on each refusal (besides cloudos_hub_rate_limited_total). */
  onRefused?: () => void
}

export interface RateLimiter {
  /** Counts the request; refuses it with a coded 429 and Retry-After once its bucket is over the limit. */
  consume(request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Refuses (429) when the bucket is already full, without counting this request. */
  check(request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Counts the request without refusing it (e.g. a failed login: its answer stays the 401). */
  count(request: FastifyRequest): Promise<void>
}

/**
 * One fixed-window limit on @fastify/rate-limit's store (`app.createRateLimit`),
 * with the hub's own refusal: `429 HUB_ERR_RATE_LIMITED`, `Retry-After` in
 * seconds (RFC 9110 section 10.2.3), counted by limit name. Several limits can
 * apply to one route, each at the point in the request where its key is known.
 * The plugin must be registered on `app` (cloud/app.ts does).
 */
export function createRateLimiter(app: FastifyInstance, spec: RateLimitSpec, metrics: HubMetrics): RateLimiter {
  // `cache` (the LRU size of the local store) is passed through to the store although the option type omits it.
  const options = { max: spec.max, timeWindow: spec.windowMs, keyGenerator: (request: FastifyRequest) => spec.key(request), cache: spec.trackedKeys }
  const limit = app.createRateLimit(options)
  function refuse(reply: FastifyReply, ttlMs: number): never {
    const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000))
    void reply.header('retry-after', String(retryAfterSeconds))
    metrics.rateLimited.inc({ limit: spec.name })
    spec.onRefused?.()
    throw new CloudosError('HUB_ERR_RATE_LIMITED', `too many requests (${spec.name.replace('_', ' per ')} limit: ${spec.max} per ${spec.windowMs / 1000} s); retry in ${retryAfterSeconds} s`, {
      limit: spec.name,
      retryAfterSeconds,
    })
  }
  return {
    async consume(request, reply) {
      const state = await limit(request)
      if (!state.isAllowed && state.isExceeded) refuse(reply, state.ttl)
    },
    async check(request, reply) {
      const state = await limit(request, { increment: false })
      if (!state.isAllowed && state.remaining <= 0) refuse(reply, state.ttl)
    },
    async count(request) {
      await limit(request)
    },
  }
}
