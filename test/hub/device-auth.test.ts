import { createPublicKey, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  DEVICE_AUTH_HEADERS,
  decodePublicKey,
  encodePublicKey,
  generateDeviceKeyPair,
  privateKeyFromSeed,
  readDeviceAuthHeaders,
  ReplayCache,
  signDeviceRequest,
  signingString,
  verifyDeviceRequest,
  type DeviceAuthHeaders,
} from '../../shared/device-auth/index.js'

// RFC 8032 section 7.1, TEST 1.
const RFC8032_SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const RFC8032_PUBLIC = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')
const RFC8032_EMPTY_SIGNATURE =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

// Golden vector: the edge and the hub must produce and accept exactly these bytes.
const GOLDEN = {
  parts: { deviceId: 'dev-0001', method: 'POST', path: '/v1/devices/heartbeat?x=1', body: '{"uptime":12}', timestamp: 1_795_689_600_000, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' },
  signingString:
    'cloudos-device-v1\ndev-0001\nPOST\n/v1/devices/heartbeat?x=1\n7712188fe2ab7b5c3c8927df70d692b674ca8e8d78a81ae9e23af293e042aaed\n1795689600000\nAAAAAAAAAAAAAAAAAAAAAA',
  signature: 'egaV3G1qPmbgJ4lhACSiIaJKdHBWWJ1slVMRfN7Jo7t1zTeY8KcZ2iO6keDH9ZCaqMosv1i3bERfvxSrM522Aw==',
}

const NOW = GOLDEN.parts.timestamp

function check(overrides: Partial<Parameters<typeof verifyDeviceRequest>[0]> & { headers: DeviceAuthHeaders }) {
  const cache = new ReplayCache(() => NOW)
  return verifyDeviceRequest({
    publicKey: decodePublicKey(RFC8032_PUBLIC.toString('base64')),
    method: GOLDEN.parts.method,
    path: GOLDEN.parts.path,
    body: GOLDEN.parts.body,
    now: NOW,
    maxSkewMs: 300_000,
    rememberNonce: (d, n, e) => cache.remember(d, n, e),
    ...overrides,
  })
}

const goldenHeaders = (): DeviceAuthHeaders => readDeviceAuthHeaders(signDeviceRequest(privateKeyFromSeed(RFC8032_SEED), GOLDEN.parts)) as DeviceAuthHeaders

describe('device request signing', () => {
  it('uses standard Ed25519 keys (RFC 8032 test 1)', () => {
    const key = privateKeyFromSeed(RFC8032_SEED)
    expect(encodePublicKey(createPublicKey(key))).toBe(RFC8032_PUBLIC.toString('base64'))
    expect(sign(null, Buffer.alloc(0), key).toString('hex')).toBe(RFC8032_EMPTY_SIGNATURE)
  })

  it('matches the golden vector', () => {
    expect(signingString(GOLDEN.parts)).toBe(GOLDEN.signingString)
    const headers = signDeviceRequest(privateKeyFromSeed(RFC8032_SEED), GOLDEN.parts)
    expect(headers).toEqual({
      [DEVICE_AUTH_HEADERS.device]: 'dev-0001',
      [DEVICE_AUTH_HEADERS.timestamp]: '1795689600000',
      [DEVICE_AUTH_HEADERS.nonce]: GOLDEN.parts.nonce,
      [DEVICE_AUTH_HEADERS.signature]: GOLDEN.signature,
    })
    expect(check({ headers: goldenHeaders() })).toEqual({ ok: true })
  })

  it('refuses a changed method, path, body, device or timestamp as a bad signature', () => {
    const headers = goldenHeaders()
    expect(check({ headers, method: 'PUT' })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check({ headers, path: '/v1/devices/heartbeat?x=2' })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check({ headers, body: '{"uptime":13}' })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check({ headers: { ...headers, deviceId: 'dev-0002' } })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check({ headers: { ...headers, timestamp: headers.timestamp + 1 } })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(check({ headers, publicKey: generateDeviceKeyPair().publicKey })).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses a stale or future timestamp beyond the allowed skew', () => {
    const headers = goldenHeaders()
    expect(check({ headers, now: NOW + 300_000 })).toEqual({ ok: true })
    expect(check({ headers, now: NOW + 300_001 })).toEqual({ ok: false, reason: 'stale' })
    expect(check({ headers, now: NOW - 300_001 })).toEqual({ ok: false, reason: 'stale' })
  })

  it('refuses a replayed request (same nonce) within the window, per device', () => {
    const cache = new ReplayCache(() => NOW)
    const remember = (d: string, n: string, e: number) => cache.remember(d, n, e)
    const headers = goldenHeaders()
    expect(check({ headers, rememberNonce: remember })).toEqual({ ok: true })
    expect(check({ headers, rememberNonce: remember })).toEqual({ ok: false, reason: 'replayed' })
    // A forged request does not consume the nonce.
    const fresh = { ...goldenHeaders(), nonce: 'BBBBBBBBBBBBBBBBBBBBBB' }
    expect(check({ headers: fresh, rememberNonce: remember })).toEqual({ ok: false, reason: 'bad_signature' })
    expect(cache.size).toBe(1)
  })

  it('forgets nonces once their window has passed', () => {
    let now = 0
    const cache = new ReplayCache(() => now)
    expect(cache.remember('d', 'n', 1000)).toBe(true)
    expect(cache.remember('d', 'n', 1000)).toBe(false)
    expect(cache.remember('other', 'n', 1000)).toBe(true)
    now = 20_000
    expect(cache.remember('x', 'y', 30_000)).toBe(true)
    expect(cache.size).toBe(1)
  })

  it('reads headers strictly and decodes only 32-byte keys', () => {
    const headers = signDeviceRequest(generateDeviceKeyPair().privateKey, { deviceId: 'd', method: 'GET', path: '/', body: '' })
    expect(readDeviceAuthHeaders(headers)).toMatchObject({ deviceId: 'd' })
    expect(readDeviceAuthHeaders({ ...headers, [DEVICE_AUTH_HEADERS.timestamp]: 'soon' })).toBeUndefined()
    expect(readDeviceAuthHeaders({ ...headers, [DEVICE_AUTH_HEADERS.signature]: undefined })).toBeUndefined()
    expect(() => decodePublicKey(Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/)
    expect(() => decodePublicKey('not base64!')).toThrow(/32 bytes/)
  })
})
