import { connect } from 'node:net'
import { generate } from 'otplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { encodePublicKey, generateDeviceKeyPair, signDeviceRequest } from '../../shared/device-auth/index.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { goodFacts, health } from './device-helper.js'
import { processMemory, resetPeakMemory, startHubProcess, type HubProcess } from './hub-process.js'

const MiB = 1024 * 1024
const BODY_BYTES = 16 * MiB
const CONCURRENT = 24

/**
 * POSTs `bytes` of zeros as a telemetry batch on a raw TCP connection of its
 * own, as an attacker would: the whole body is pushed whatever the hub does,
 * and the answer is read as soon as it is complete (the hub may answer
 * before the body is through; writes then fail with EPIPE if it closes).
 */
function postLarge(url: string, headers: Record<string, string>, bytes: number): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const socket = connect(Number(target.port), target.hostname)
    const head = ['POST /v1/telemetry/batches HTTP/1.1', `host: ${target.host}`, 'content-type: application/octet-stream', `content-length: ${bytes}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n')
    let received = ''
    let done = false
    const answer = () => {
      const end = received.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)/i.exec(received.slice(0, end))
      if (end < 0 || length === null || received.length < end + 4 + Number(length[1])) return undefined
      return { status: Number(received.slice(9, 12)), body: JSON.parse(received.slice(end + 4, end + 4 + Number(length[1]))) as Record<string, unknown> }
    }
    socket.setEncoding('latin1').on('data', (d: string) => {
      received += d
      const parsed = answer()
      if (parsed !== undefined && !done) {
        done = true
        socket.destroy()
        resolve(parsed)
      }
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      if (!done) reject(new Error(`no complete HTTP answer: ${JSON.stringify(received.slice(0, 200))}`))
    })
    const chunk = Buffer.alloc(256 * 1024)
    let sent = 0
    const write = () => {
      while (sent < bytes && !socket.destroyed) {
        sent += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', write)
      }
    }
    socket.write(head)
    write()
  })
}

async function call(url: string, path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const response = await fetch(new URL(path, url), {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined || init.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    ...(init.raw !== undefined ? { body: init.raw } : init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

// Real child processes of the built CLI (`npm test` builds dist/ first).
describe('an armoured hub (child processes)', () => {
  let dir: TempDir
  let hub: HubProcess | undefined
  let deviceId: string
  let privateKey: ReturnType<typeof generateDeviceKeyPair>['privateKey']

  beforeAll(async () => {
    dir = makeTempDir('cloudos-hub-armour-')
    const password = 'armoured hub test password'
    const init = await initHub({ dataDir: dir.path, adminPassword: password })
    hub = await startHubProcess(dir.path)
    const login = await call(hub.url, '/v1/auth/login', { method: 'POST', body: { username: 'admin', password, totp: await generate({ secret: init.totpSecret }) } })
    expect(login.status).toBe(200)
    const token = await call(hub.url, '/v1/enrolment-tokens', { method: 'POST', token: login.body.token, body: { group: 'armour', tier: 'edge' } })
    const keys = generateDeviceKeyPair()
    privateKey = keys.privateKey
    const enrolled = await call(hub.url, '/v1/devices/enroll', { method: 'POST', body: { enrolmentToken: token.body.token, publicKey: encodePublicKey(keys.publicKey), facts: goodFacts } })
    expect(enrolled.status).toBe(201)
    deviceId = enrolled.body.deviceId
  })
  afterAll(async () => {
    await hub?.stop()
    dir.remove()
  })

  it(`refuses ${CONCURRENT} concurrent unsigned or badly-signed 16 MiB POSTs with coded 401s before reading a body: hub RSS stays flat`, async () => {
    const running = hub as HubProcess
    for (let i = 0; i < 20; i++) await call(running.url, '/healthz')
    const before = processMemory(running.pid)
    resetPeakMemory(running.pid)
    const now = Date.now()
    const variants: Record<string, string>[] = [
      {},
      { 'x-cloudos-device': deviceId, 'x-cloudos-timestamp': String(now), 'x-cloudos-nonce': 'short', 'x-cloudos-signature': 'not base64' },
      signDeviceRequest(generateDeviceKeyPair().privateKey, { deviceId: `dev-00000000-0000-4000-8000-${'0'.repeat(12)}`, method: 'POST', path: '/v1/telemetry/batches', body: '' }),
      signDeviceRequest(privateKey, { deviceId, method: 'POST', path: '/v1/telemetry/batches', body: '', timestamp: now - 3_600_000 }),
    ]
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => postLarge(running.url, variants[i % variants.length] as Record<string, string>, BODY_BYTES)))
    const after = processMemory(running.pid)
    expect(answers.map((a) => a.status)).toEqual(Array(CONCURRENT).fill(401))
    expect(new Set(answers.map((a) => a.body.code))).toEqual(new Set(['HUB_ERR_DEVICE_UNAUTHENTICATED', 'HUB_ERR_DEVICE_UNKNOWN', 'HUB_ERR_DEVICE_SIGNATURE_STALE']))
    const growthMiB = (after.peak - before.rss) / MiB
    // The old hub buffered every body first: 24 x 16 MiB took it from 132 to 472 MB.
    console.log(`hub RSS ${(before.rss / MiB).toFixed(1)} MiB before, peak ${(after.peak / MiB).toFixed(1)} MiB during ${CONCURRENT} x 16 MiB unsigned POSTs (+${growthMiB.toFixed(1)} MiB)`)
    // What remains is the discarded body bytes passing through (Node reads and drops an unread body on a kept-alive connection) before GC.
    expect(growthMiB).toBeLessThan(48)
  })

  it(`bounds what forged requests naming a real device can hold: ${CONCURRENT} concurrent 16 MiB POSTs, bodies over the budget refused unread`, async () => {
    const running = hub as HubProcess
    const before = processMemory(running.pid)
    resetPeakMemory(running.pid)
    const forger = generateDeviceKeyPair().privateKey
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, () => postLarge(running.url, signDeviceRequest(forger, { deviceId, method: 'POST', path: '/v1/telemetry/batches', body: '' }), BODY_BYTES)),
    )
    const after = processMemory(running.pid)
    const codes = answers.map((a) => `${a.status} ${String(a.body.code)}`)
    expect(codes.every((c) => c === '401 HUB_ERR_DEVICE_UNAUTHENTICATED' || c === '503 HUB_ERR_BUSY')).toBe(true)
    expect(codes).toContain('503 HUB_ERR_BUSY')
    const growthMiB = (after.peak - before.rss) / MiB
    console.log(`hub RSS ${(before.rss / MiB).toFixed(1)} MiB before, peak ${(after.peak / MiB).toFixed(1)} MiB during ${CONCURRENT} x 16 MiB forged POSTs (+${growthMiB.toFixed(1)} MiB; ${codes.filter((c) => c.startsWith('503')).length} refused unread)`)
    // deviceAuth.maxUnverifiedBodyBytes (64 MiB) of bodies at once, each buffered then joined: well under the 384 MiB of buffering them all.
    expect(growthMiB).toBeLessThan(192)
  })

  it('refuses a heartbeat captured before a hub restart when it is replayed after it', async () => {
    const running = hub as HubProcess
    const body = JSON.stringify(health())
    const captured = signDeviceRequest(privateKey, { deviceId, method: 'POST', path: '/v1/devices/me/heartbeat', body })
    const first = await call(running.url, '/v1/devices/me/heartbeat', { method: 'POST', headers: captured, raw: body })
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const again = await call(running.url, '/v1/devices/me/heartbeat', { method: 'POST', headers: captured, raw: body })
    expect(again.body.code).toBe('HUB_ERR_DEVICE_SIGNATURE_REPLAYED')
    await running.stop()
    hub = await startHubProcess(dir.path)
    const replayed = await call(hub.url, '/v1/devices/me/heartbeat', { method: 'POST', headers: captured, raw: body })
    expect(replayed.status).toBe(401)
    expect(replayed.body.code).toBe('HUB_ERR_DEVICE_SIGNATURE_REPLAYED')
    // A fresh request from the device is accepted.
    const fresh = signDeviceRequest(privateKey, { deviceId, method: 'POST', path: '/v1/devices/me/heartbeat', body })
    expect((await call(hub.url, '/v1/devices/me/heartbeat', { method: 'POST', headers: fresh, raw: body })).status).toBe(200)
  })
})
