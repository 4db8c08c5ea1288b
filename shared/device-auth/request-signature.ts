import { createHash, randomBytes, sign, verify, type KeyObject } from 'node:crypto'

/**
 * Device request signing, shared by the edge (signs) and the hub (verifies).
 *
 * A device signs every hub request with its Ed25519 key. The signed string
 * binds the method, the path with its query, the sha256 of the exact body
 * bytes, the time and a random nonce, so a captured request cannot be
 * re-targeted, altered, replayed later (timestamp outside the allowed skew)
 * or replayed now (nonce already seen within the skew window).
 */

export const DEVICE_AUTH_HEADERS = {
  device: 'x-cloudos-device',
  timestamp: 'x-cloudos-timestamp',
  nonce: 'x-cloudos-nonce',
  signature: 'x-cloudos-signature',
} as const

export const SIGNATURE_SCHEME = 'cloudos-device-v1'

export interface SignedRequestParts {
  deviceId: string
  method: string
  /** Path and query exactly as sent, e.g. `/v1/devices/me?x=1`. */
  path: string
  body: Buffer | string
  /** Milliseconds since the epoch. */
  timestamp: number
  /** 16 random bytes, base64url. */
  nonce: string
}

export function sha256Hex(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex')
}

/** The exact bytes signed: one field per line, in a fixed order. */
export function signingString(parts: SignedRequestParts): string {
  return [SIGNATURE_SCHEME, parts.deviceId, parts.method.toUpperCase(), parts.path, sha256Hex(parts.body), String(parts.timestamp), parts.nonce].join('\n')
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url')
}

/** The headers to add to a request: `x-cloudos-device`, `-timestamp`, `-nonce`, `-signature`. */
export function signDeviceRequest(
  privateKey: KeyObject,
  request: Omit<SignedRequestParts, 'timestamp' | 'nonce'> & { timestamp?: number; nonce?: string },
): Record<string, string> {
  const parts: SignedRequestParts = { ...request, timestamp: request.timestamp ?? Date.now(), nonce: request.nonce ?? newNonce() }
  const signature = sign(null, Buffer.from(signingString(parts)), privateKey).toString('base64')
  return {
    [DEVICE_AUTH_HEADERS.device]: parts.deviceId,
    [DEVICE_AUTH_HEADERS.timestamp]: String(parts.timestamp),
    [DEVICE_AUTH_HEADERS.nonce]: parts.nonce,
    [DEVICE_AUTH_HEADERS.signature]: signature,
  }
}

/** What a verifier reads from the request headers. */
export interface DeviceAuthHeaders {
  deviceId: string
  timestamp: number
  nonce: string
  signature: string
}

/** Reads the four headers; undefined when one is missing or malformed. */
export function readDeviceAuthHeaders(headers: Record<string, string | string[] | undefined>): DeviceAuthHeaders | undefined {
  const one = (name: string) => {
    const value = headers[name]
    return typeof value === 'string' ? value : undefined
  }
  const deviceId = one(DEVICE_AUTH_HEADERS.device)
  const timestamp = one(DEVICE_AUTH_HEADERS.timestamp)
  const nonce = one(DEVICE_AUTH_HEADERS.nonce)
  const signature = one(DEVICE_AUTH_HEADERS.signature)
  if (deviceId === undefined || timestamp === undefined || nonce === undefined || signature === undefined) return undefined
  if (!/^\d{1,15}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[A-Za-z0-9+/]{86}==$/.test(signature)) return undefined
  return { deviceId, timestamp: Number(timestamp), nonce, signature }
}

export type DeviceSignatureCheck = { ok: true } | { ok: false; reason: 'stale' | 'bad_signature' | 'replayed' }

export interface VerifyDeviceRequestOptions {
  publicKey: KeyObject
  method: string
  path: string
  body: Buffer | string
  headers: DeviceAuthHeaders
  now: number
  /** How far the device clock may be from the hub's, either way. */
  maxSkewMs: number
  /** Records the nonce; false if it was already seen (a replay). Called only for a valid, fresh signature. */
  rememberNonce: (deviceId: string, nonce: string, expiresAt: number) => boolean
}

/** Checks freshness, then the signature, then the nonce (so forgeries cannot fill the nonce cache). */
export function verifyDeviceRequest(options: VerifyDeviceRequestOptions): DeviceSignatureCheck {
  const { headers } = options
  if (Math.abs(options.now - headers.timestamp) > options.maxSkewMs) return { ok: false, reason: 'stale' }
  const message = signingString({ deviceId: headers.deviceId, method: options.method, path: options.path, body: options.body, timestamp: headers.timestamp, nonce: headers.nonce })
  let valid: boolean
  try {
    valid = verify(null, Buffer.from(message), options.publicKey, Buffer.from(headers.signature, 'base64'))
  } catch {
    valid = false
  }
  if (!valid) return { ok: false, reason: 'bad_signature' }
  // A nonce only needs remembering while its timestamp would still pass the skew check.
  if (!options.rememberNonce(headers.deviceId, headers.nonce, headers.timestamp + options.maxSkewMs)) return { ok: false, reason: 'replayed' }
  return { ok: true }
}

/** What the body signature check needs: the request as received and its signature headers. */
export type DeviceSignatureInput = Pick<VerifyDeviceRequestOptions, 'publicKey' | 'method' | 'path' | 'body' | 'headers'>

/**
 * The Ed25519 check alone, on libuv's thread pool (node:crypto's callback
 * form): a hub verifying thousands of requests a second keeps its event loop
 * for HTTP parsing and SQLite. The hub checks the timestamp and the nonce
 * from the headers before it reads the body, and this once it has the body.
 */
export async function verifyDeviceSignatureAsync(input: DeviceSignatureInput): Promise<boolean> {
  const { headers } = input
  const message = signingString({ deviceId: headers.deviceId, method: input.method, path: input.path, body: input.body, timestamp: headers.timestamp, nonce: headers.nonce })
  return new Promise<boolean>((resolve) => {
    try {
      verify(null, Buffer.from(message), input.publicKey, Buffer.from(headers.signature, 'base64'), (err, ok) => resolve(err === null && ok))
    } catch {
      resolve(false)
    }
  })
}

/** verifyDeviceRequest with the signature checked off the event loop (verifyDeviceSignatureAsync). Same checks, same order. */
export async function verifyDeviceRequestAsync(options: VerifyDeviceRequestOptions): Promise<DeviceSignatureCheck> {
  const { headers } = options
  if (Math.abs(options.now - headers.timestamp) > options.maxSkewMs) return { ok: false, reason: 'stale' }
  if (!(await verifyDeviceSignatureAsync(options))) return { ok: false, reason: 'bad_signature' }
  if (!options.rememberNonce(headers.deviceId, headers.nonce, headers.timestamp + options.maxSkewMs)) return { ok: false, reason: 'replayed' }
  return { ok: true }
}
