import type { KeyObject } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { decodePublicKey, DEVICE_AUTH_HEADERS, readDeviceAuthHeaders, verifyDeviceSignatureAsync, type DeviceAuthHeaders } from '../../shared/device-auth/index.js'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'
import type { HubContext } from '../http/context.js'
import { createRateLimiter } from '../http/rate-limiter.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'
import { UnverifiedBodyBudget } from './unverified-body-budget.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes (device routes only: the signature covers them). */
    rawBody?: Buffer
    device: DeviceRecord | null
  }
  interface FastifyContextConfig {
    /**
     * Update the device's last-seen time on this device route (default true).
     * The heartbeat turns it off: its group-committed write sets last seen
     * itself, and a separate write per request would cost one more fsync
     * each. OTA polls and bundle downloads turn it off too.
     */
    touchLastSeen?: boolean
  }
}

/** The two halves of device authentication (shared/device-auth), around the body read. */
export interface DeviceGuard {
  /**
   * onRequest, before one body byte is read: the per-address limit, then
   * everything the headers alone can prove wrong (present and well formed,
   * device enrolled and not revoked, timestamp within the skew, nonce not
   * already used). The hub used to read a whole body first: 24 concurrent
   * unsigned 16 MiB POSTs took it from 132 to 472 MB before the 401s.
   */
  beforeBody(request: FastifyRequest, reply: FastifyReply): Promise<void>
  /**
   * preValidation, once the body is read and before it is validated (an
   * unauthenticated caller learns nothing about the schema): the signature
   * over the exact body bytes, the nonce remembered in the hub store (so it
   * is refused after a restart too), then the per-device limit.
   */
  afterBody(request: FastifyRequest, reply: FastifyReply): Promise<void>
}

/** Checked before the body, used after it. */
interface HeaderCheck {
  device: DeviceRecord
  headers: DeviceAuthHeaders
}

/** How often expired nonces are deleted from the store. */
const PRUNE_INTERVAL_MS = 10_000

/**
 * Authenticates requests signed by enrolled devices. Created once per
 * device-signed scope (device-signed-routes.ts). Every refusal is a coded
 * 401/403, counted and summarised per source and window in the audit log
 * (`auth.failures`), never one audit row per request.
 */
export function deviceGuard(context: HubContext, scope: FastifyInstance): DeviceGuard {
  const { config, store, metrics } = context
  const maxSkewMs = config.deviceAuth.maxClockSkewSeconds * 1000
  const limits = config.rateLimits
  const windowMs = limits.windowSeconds * 1000
  const perSource = createRateLimiter(scope, { name: 'device_source', max: limits.perSource, windowMs, key: (request) => request.ip, trackedKeys: limits.trackedKeys }, metrics)
  const perDevice = createRateLimiter(scope, { name: 'device', max: limits.perDevice, windowMs, key: (request) => request.device?.id ?? '', trackedKeys: limits.trackedKeys }, metrics)
  const checked = new WeakMap<FastifyRequest, HeaderCheck>()
  const bodies = new UnverifiedBodyBudget(config.deviceAuth.maxUnverifiedBodyBytes)
  // Decoding a key (createPublicKey) per request is measurable at thousands of requests/s.
  const keys = new Map<string, { encoded: string; key: KeyObject }>()
  let nextPrune = 0

  function publicKeyOf(device: DeviceRecord): KeyObject {
    const cached = keys.get(device.id)
    if (cached !== undefined && cached.encoded === device.publicKey) return cached.key
    const key = decodePublicKey(device.publicKey)
    keys.set(device.id, { encoded: device.publicKey, key })
    return key
  }

  function refuse(request: FastifyRequest, code: ErrorCode, message: string, claimedId: string | undefined): never {
    context.authFailures.record({ kind: 'device', source: request.ip, code, claimedId })
    throw new CloudosError(code, message)
  }

  async function pruneNonces(now: number): Promise<void> {
    if (now < nextPrune) return
    nextPrune = now + PRUNE_INTERVAL_MS
    await store.replayNonces.prune(now)
  }

  return {
    async beforeBody(request, reply) {
      await perSource.consume(request, reply)
      const headers = readDeviceAuthHeaders(request.headers)
      if (headers === undefined) {
        const claimed = request.headers[DEVICE_AUTH_HEADERS.device]
        refuse(request, 'HUB_ERR_DEVICE_UNAUTHENTICATED', 'this route needs a signed device request: x-cloudos-device, x-cloudos-timestamp, x-cloudos-nonce and x-cloudos-signature headers', typeof claimed === 'string' ? claimed : undefined)
      }
      const device = await store.devices.findById(headers.deviceId as DeviceId)
      if (device === undefined) {
        refuse(request, 'HUB_ERR_DEVICE_UNKNOWN', `device "${headers.deviceId.slice(0, 64)}" is not enrolled on this hub`, headers.deviceId)
      }
      // Refused before the signature can be checked (that needs the body):
      // whoever names a revoked device learns it is revoked, and no body of
      // a key that no longer counts is ever read.
      if (device.status === 'revoked') {
        refuse(request, 'HUB_ERR_DEVICE_REVOKED', `device ${device.id} was revoked at ${new Date(device.revokedAt ?? 0).toISOString()}`, device.id)
      }
      const now = context.clock()
      if (Math.abs(now - headers.timestamp) > maxSkewMs) {
        refuse(request, 'HUB_ERR_DEVICE_SIGNATURE_STALE', `the request timestamp is more than ${maxSkewMs / 1000} s from the hub clock`, device.id)
      }
      if (await store.replayNonces.seen(device.id, headers.nonce, now)) {
        refuse(request, 'HUB_ERR_DEVICE_SIGNATURE_REPLAYED', 'this signed request (nonce) was already received', device.id)
      }
      if (!bodies.reserve(request, request.routeOptions.bodyLimit ?? config.http.bodyLimitBytes)) {
        void reply.header('retry-after', '1')
        metrics.rateLimited.inc({ limit: 'unverified_bodies' })
        throw new CloudosError('HUB_ERR_BUSY', `the hub is already reading ${bodies.limitBytes} bytes of device request bodies whose signature is not yet checked; retry in a second`)
      }
      // Given back once the signature is checked, or whenever the exchange
      // ends first (answered, refused, or the connection dropped mid-body).
      reply.raw.once('close', () => bodies.release(request))
      checked.set(request, { device, headers })
    },

    async afterBody(request, reply) {
      const check = checked.get(request)
      if (check === undefined) refuse(request, 'HUB_ERR_DEVICE_UNAUTHENTICATED', 'the device request headers were not checked', undefined)
      const { device, headers } = check
      const valid = await verifyDeviceSignatureAsync({ publicKey: publicKeyOf(device), method: request.method, path: request.url, body: request.rawBody ?? Buffer.alloc(0), headers })
      bodies.release(request)
      if (!valid) refuse(request, 'HUB_ERR_DEVICE_UNAUTHENTICATED', 'the signature does not verify with the device\'s enrolled key', device.id)
      // Remembered only for a valid signature (forgeries cannot fill the
      // store), until the timestamp itself would be refused as stale.
      const now = context.clock()
      if (!(await store.replayNonces.remember(device.id, headers.nonce, headers.timestamp + maxSkewMs, now))) {
        refuse(request, 'HUB_ERR_DEVICE_SIGNATURE_REPLAYED', 'this signed request (nonce) was already received', device.id)
      }
      await pruneNonces(now)
      request.device = device
      await perDevice.consume(request, reply)
      if (request.routeOptions.config.touchLastSeen !== false) await store.devices.touch(device.id, now)
    },
  }
}
