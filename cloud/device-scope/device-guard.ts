import type { KeyObject } from 'node:crypto'
import type { FastifyRequest, preValidationHookHandler } from 'fastify'
import { decodePublicKey, readDeviceAuthHeaders, ReplayCache, verifyDeviceRequestAsync } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import type { HubContext } from '../http/context.js'
import type { DeviceId, DeviceRecord } from '../devices/device-repository.js'

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

/**
 * Authenticates a request signed by an enrolled device (shared/device-auth):
 * known device, not revoked, fresh timestamp, valid signature over the exact
 * body bytes, nonce not seen before. Refusals are audited as security events.
 * Runs as a preValidation hook: after the body is read (its bytes are hashed),
 * before it is validated (an unauthenticated caller learns nothing about the schema).
 * Registered once, on the device-signed scope (device-signed-routes.ts); a
 * route opts out of the last-seen write with `config: { touchLastSeen: false }`.
 */

/** One replay cache per hub (every signed route shares it), and decoded keys by device. */
interface DeviceAuthState {
  replays: ReplayCache
  keys: Map<string, { encoded: string; key: KeyObject }>
}
const states = new WeakMap<HubContext, DeviceAuthState>()

export function deviceGuard(context: HubContext): preValidationHookHandler {
  let state = states.get(context)
  if (state === undefined) {
    state = { replays: new ReplayCache(context.clock), keys: new Map() }
    states.set(context, state)
  }
  const { replays, keys } = state
  const maxSkewMs = context.config.deviceAuth.maxClockSkewSeconds * 1000

  // Decoding a key (createPublicKey) per request is measurable at thousands of requests/s.
  function publicKeyOf(device: DeviceRecord): KeyObject {
    const cached = keys.get(device.id)
    if (cached !== undefined && cached.encoded === device.publicKey) return cached.key
    const key = decodePublicKey(device.publicKey)
    keys.set(device.id, { encoded: device.publicKey, key })
    return key
  }

  async function refuse(request: FastifyRequest, error: CloudosError, deviceId: string): Promise<never> {
    await context.audit.record('device.auth_failed', deviceId === '' ? 'anonymous' : `device:${deviceId}`, deviceId, { code: error.code, path: request.url, ip: request.ip })
    throw error
  }

  return async (request) => {
    const headers = readDeviceAuthHeaders(request.headers)
    if (headers === undefined) {
      throw new CloudosError('HUB_ERR_DEVICE_UNAUTHENTICATED', 'this route needs a signed device request: x-cloudos-device, x-cloudos-timestamp, x-cloudos-nonce and x-cloudos-signature headers')
    }
    const device = await context.store.devices.findById(headers.deviceId as DeviceId)
    if (device === undefined) {
      return refuse(request, new CloudosError('HUB_ERR_DEVICE_UNKNOWN', `device "${headers.deviceId}" is not enrolled on this hub`), headers.deviceId)
    }
    const check = await verifyDeviceRequestAsync({
      publicKey: publicKeyOf(device),
      method: request.method,
      path: request.url,
      body: request.rawBody ?? Buffer.alloc(0),
      headers,
      now: context.clock(),
      maxSkewMs,
      rememberNonce: (id, nonce, expiresAt) => replays.remember(id, nonce, expiresAt),
    })
    if (!check.ok) {
      const error =
        check.reason === 'stale'
          ? new CloudosError('HUB_ERR_DEVICE_SIGNATURE_STALE', `the request timestamp is more than ${maxSkewMs / 1000} s from the hub clock`)
          : check.reason === 'replayed'
            ? new CloudosError('HUB_ERR_DEVICE_SIGNATURE_REPLAYED', 'this signed request (nonce) was already received')
            : new CloudosError('HUB_ERR_DEVICE_UNAUTHENTICATED', 'the signature does not verify with the device\'s enrolled key')
      return refuse(request, error, device.id)
    }
    // Checked after the signature, so only the device itself learns it is revoked.
    if (device.status === 'revoked') {
      return refuse(request, new CloudosError('HUB_ERR_DEVICE_REVOKED', `device ${device.id} was revoked at ${new Date(device.revokedAt ?? 0).toISOString()}`), device.id)
    }
    if (request.routeOptions.config.touchLastSeen !== false) await context.store.devices.touch(device.id, context.clock())
    request.device = device
  }
}
