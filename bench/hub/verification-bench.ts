import { encodePublicKey, decodePublicKey, generateDeviceKeyPair, signDeviceRequest, readDeviceAuthHeaders, verifyDeviceRequest, verifyDeviceRequestAsync } from '../../shared/device-auth/index.js'
import { HEARTBEAT_PATH } from '../../shared/protocol/heartbeat.js'

export interface VerificationResult {
  requests: number
  /** verifyDeviceRequest on the main thread, one after another. */
  syncPerSecond: number
  /** verifyDeviceRequestAsync (thread pool), all in flight: what the hub's guard uses. */
  asyncPerSecond: number
  /** Every signature verified as valid. */
  allValid: boolean
}

/** Signed-request verifications/s in this process, over requests signed beforehand by 16 device keys. */
export async function measureVerification(requests: number): Promise<VerificationResult> {
  const keys = Array.from({ length: 16 }, () => generateDeviceKeyPair())
  const now = Date.now()
  const signed = Array.from({ length: requests }, (_, i) => {
    const pair = keys[i % keys.length] as (typeof keys)[number]
    const body = Buffer.from(`{"uptimeSeconds":${i},"queueDepth":0,"dbSizeBytes":1,"readingsPerSecond":1,"rejectedPerSecond":0,"cpuPercent":1,"memoryBytes":1}`)
    const deviceId = `dev-bench-${i % keys.length}`
    const headers = readDeviceAuthHeaders(signDeviceRequest(pair.privateKey, { deviceId, method: 'POST', path: HEARTBEAT_PATH, body, timestamp: now }))
    if (headers === undefined) throw new Error('unreadable signed headers')
    return { publicKey: decodePublicKey(encodePublicKey(pair.publicKey)), body, headers }
  })
  const options = (s: (typeof signed)[number]) => ({
    publicKey: s.publicKey,
    method: 'POST',
    path: HEARTBEAT_PATH,
    body: s.body,
    headers: s.headers,
    now,
    maxSkewMs: 300_000,
    rememberNonce: () => true,
  })
  let allValid = true
  let t = performance.now()
  for (const s of signed) allValid &&= verifyDeviceRequest(options(s)).ok
  const syncSeconds = (performance.now() - t) / 1000
  t = performance.now()
  // Windows of 256 in flight: bounded memory, the pool kept busy.
  for (let i = 0; i < signed.length; i += 256) {
    const results = await Promise.all(signed.slice(i, i + 256).map((s) => verifyDeviceRequestAsync(options(s))))
    allValid &&= results.every((r) => r.ok)
  }
  const asyncSeconds = (performance.now() - t) / 1000
  return { requests, syncPerSecond: Math.round(requests / syncSeconds), asyncPerSecond: Math.round(requests / asyncSeconds), allValid }
}
