import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { HUB_CA_FILE, loadDeviceIdentity } from '../../edge/hub-link/device-identity.js'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import { HubClient, HubRequestError } from '../../edge/hub-link/hub-client.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import { CloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { startImpostorHub, type ImpostorHub } from '../harness/impostor-hub.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { startTcpProxy } from '../harness/tcp-proxy.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (m: string) => lines.push(m)
  return { lines, info: log, warn: log, error: log }
}

async function refusal(promise: Promise<unknown>): Promise<CloudosError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(CloudosError)
  return err as CloudosError
}

/** A token of this hub whose pin names another CA (one hex digit changed). */
const withWrongPin = (token: string) => token.replace(/.$/, (c) => (c === '0' ? '1' : '0'))

// Issue 13: "an edge started with another --hub URL followed a fake hub under
// the same identity". The real hub serves HTTPS with its own CA; the impostor
// holds a certificate from another CA and answers everything an attacker would.
describe('the pinned hub identity', () => {
  let hub: RealHub
  let tmp: TempDir
  let n = 0
  const impostors: ImpostorHub[] = []
  const dataDir = () => join(tmp.path, `edge-${n++}`)
  const impostor = async (options: Parameters<typeof startImpostorHub>[0] = {}) => {
    const started = await startImpostorHub(options)
    impostors.push(started)
    return started
  }
  beforeAll(async () => {
    hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } }, fleet: { heartbeatIntervalSeconds: 1 } } })
    tmp = makeTempDir('cloudos-hub-identity-')
  })
  afterAll(async () => {
    for (const started of impostors) await started.close()
    await hub.dispose()
    tmp.remove()
  })

  it('enrolment refuses an endpoint with a certificate from another CA: coded, counted, nothing sent, nothing stored, the token unused', async () => {
    const fake = await impostor()
    const { token, id } = await hub.createEnrolmentToken()
    const refused: CloudosError[] = []
    const dir = dataDir()
    const err = await refusal(ensureEnrolled({ dataDir: dir, hubUrl: fake.url, enrolmentToken: token, timeoutMs: 3000, log: recordingLogger(), onIdentityRefused: (e) => refused.push(e) }))
    expect(err.code).toBe('EDGE_ERR_HUB_IDENTITY_MISMATCH')
    expect(err.message).toContain(hub.caPin)
    expect(refused).toHaveLength(1)
    expect(fake.connections).toBeGreaterThan(0)
    expect(fake.requests).toEqual([])
    expect(existsSync(join(dir, 'device-identity.json'))).toBe(false)
    const tokens = await hub.get<{ tokens: { id: string; status: string }[] }>('/v1/enrolment-tokens')
    expect(tokens.body.tokens.find((t) => t.id === id)?.status).toBe('unused')
  })

  it('enrolment refuses an endpoint that shows the right CA in its chain but holds a certificate that CA did not issue', async () => {
    const fake = await impostor({ showCaPem: hub.caPem })
    const { token } = await hub.createEnrolmentToken()
    const err = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: fake.url, enrolmentToken: token, timeoutMs: 3000, log: recordingLogger() }))
    expect(err.code).toBe('EDGE_ERR_HUB_IDENTITY_MISMATCH')
    expect(fake.requests).toEqual([])
  })

  it('enrolment with a token whose pin does not match the real hub is refused before the token is sent', async () => {
    const { token, id } = await hub.createEnrolmentToken()
    const err = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: hub.url, enrolmentToken: withWrongPin(token), timeoutMs: 3000, log: recordingLogger() }))
    expect(err.code).toBe('EDGE_ERR_HUB_IDENTITY_MISMATCH')
    const tokens = await hub.get<{ tokens: { id: string; status: string }[] }>('/v1/enrolment-tokens')
    expect(tokens.body.tokens.find((t) => t.id === id)?.status).toBe('unused')
    // A token without its pin cannot authenticate an https:// hub at all.
    const bare = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: hub.url, enrolmentToken: token.split('.')[0] as string, timeoutMs: 3000, log: recordingLogger() }))
    expect(bare.code).toBe('EDGE_ERR_HUB_TOKEN_MALFORMED')
  })

  it('an http:// hub URL is refused with a coded error unless plain HTTP is allowed on the device', async () => {
    const plainUrl = hub.url.replace('https:', 'http:')
    const { token } = await hub.createEnrolmentToken()
    const err = await refusal(ensureEnrolled({ dataDir: dataDir(), hubUrl: plainUrl, enrolmentToken: token, timeoutMs: 3000, log: recordingLogger() }))
    expect(err.code).toBe('EDGE_ERR_HUB_INSECURE_URL')
    expect(() => new HubClient({ url: plainUrl, timeoutMs: 1000 })).toThrow(/EDGE_ERR_HUB_INSECURE_URL|plain HTTP/)
    // The plain variant: a hub serving --insecure-http and a device allowing it.
    const plainHub = await startRealHub({ insecureHttp: true, config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    try {
      const plainToken = await plainHub.createEnrolmentToken()
      const log = recordingLogger()
      const identity = await ensureEnrolled({ dataDir: dataDir(), hubUrl: plainHub.url, enrolmentToken: plainToken.token, insecureHttp: true, timeoutMs: 3000, log })
      expect(identity.hubUrl).toMatch(/^http:\/\//)
      expect(identity.hubCaPem).toBeUndefined()
      expect(log.lines.join('\n')).toContain('plain HTTP (--insecure-http)')
    } finally {
      await plainHub.dispose()
    }
  })

  it('a hub URL change to an impostor is refused (coded, counted) and the edge keeps the pinned hub; a new address that proves the identity is followed', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken()
    const enrolled = await ensureEnrolled({ dataDir: dir, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 3000, log: recordingLogger() })
    expect(existsSync(join(dir, HUB_CA_FILE))).toBe(true)

    for (const fake of [await impostor(), await impostor({ showCaPem: hub.caPem })]) {
      const refused: CloudosError[] = []
      const log = recordingLogger()
      const kept = await ensureEnrolled({ dataDir: dir, hubUrl: fake.url, timeoutMs: 3000, log, onIdentityRefused: (e) => refused.push(e) })
      expect(kept.hubUrl).toBe(hub.url)
      expect(loadDeviceIdentity(dir).hubUrl).toBe(hub.url)
      expect(refused.map((e) => e.code)).toEqual(['EDGE_ERR_HUB_IDENTITY_MISMATCH'])
      expect(log.lines.join('\n')).toMatch(new RegExp(`EDGE_ERR_HUB_IDENTITY_MISMATCH: the new hub address ${fake.url} was refused .*keeping the pinned hub at ${hub.url}`))
      expect(fake.requests).toEqual([])
    }
    // A plain-HTTP address cannot prove anything, even when plain HTTP is allowed.
    const downgraded = await ensureEnrolled({ dataDir: dir, hubUrl: hub.url.replace('https:', 'http:'), insecureHttp: true, timeoutMs: 3000, log: recordingLogger() })
    expect(downgraded.hubUrl).toBe(hub.url)

    // The same hub behind another address (a proxy, a new DNS name) proves the pinned CA: followed.
    const proxy = await startTcpProxy(hub.port)
    try {
      const log = recordingLogger()
      const moved = await ensureEnrolled({ dataDir: dir, hubUrl: proxy.httpsUrl, timeoutMs: 3000, log })
      expect(moved.hubUrl).toBe(proxy.httpsUrl)
      expect(moved.deviceId).toBe(enrolled.deviceId)
      expect(loadDeviceIdentity(dir).hubUrl).toBe(proxy.httpsUrl)
      expect(log.lines.join('\n')).toContain('the new endpoint proved the pinned identity')
    } finally {
      await proxy.close()
    }
  })

  it('after enrolment a running edge refuses an impostor at the hub address (counted in /metrics), sends it nothing, and links again when the real hub is back', async () => {
    const dir = dataDir()
    const { token } = await hub.createEnrolmentToken()
    const config = loadEdgeConfig(undefined, {
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      hub: { url: hub.url, requestTimeoutMs: 2000, backoffInitialMs: 50, backoffMaxMs: 200, heartbeatIntervalSeconds: 1 },
      ota: { enabled: false },
    })
    const runtime = new EdgeRuntime({ dataDir: dir, config, enrolmentToken: token })
    const endpoints = await runtime.start()
    try {
      await waitFor(() => runtime.hubStatus().state === 'online', { timeoutMs: 10_000, what: 'linked to the real hub' })
      // The hub's address is taken over: the real hub stops, an impostor listens on its port.
      await hub.stop()
      // The port may take a moment to be free again after the hub closed.
      const fake = await waitFor(() => impostor({ port: hub.port, showCaPem: hub.caPem }).catch(() => undefined), { timeoutMs: 5000, what: 'the impostor on the hub port' })
      const status = await waitFor(() => {
        const s = runtime.hubStatus() as { state: string; lastError?: string | null }
        return s.state === 'offline' && (s.lastError ?? '').includes('EDGE_ERR_HUB_IDENTITY_MISMATCH') && s
      }, { timeoutMs: 10_000, what: 'the link refusing the impostor' })
      expect(status.state).toBe('offline')
      await waitFor(() => fake.connections >= 2, { timeoutMs: 10_000, what: 'retries (with backoff) reaching the impostor' })
      const metrics = await (await fetch(`${endpoints.httpUrl}/metrics`)).text()
      const refusals = Number(/^cloudos_edge_hub_identity_refusals_total (\d+)/m.exec(metrics)?.[1])
      expect(refusals).toBeGreaterThanOrEqual(1)
      expect(fake.requests).toEqual([])
      await fake.close()
      await hub.start()
      await waitFor(() => runtime.hubStatus().state === 'online', { timeoutMs: 15_000, what: 'linked again to the real hub' })
    } finally {
      await runtime.stop()
      await hub.start()
    }
  })
})

describe('HubClient against an endpoint that cannot prove the pinned identity', () => {
  it('fails as kind "identity" (retryable, never followed) with the code in the message', async () => {
    const hub = await startRealHub()
    const fake = await startImpostorHub()
    try {
      const client = new HubClient({ url: fake.url, hubCaPem: hub.caPem, timeoutMs: 2000 })
      const err = await client.get('/healthz').then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(HubRequestError)
      expect(err).toMatchObject({ kind: 'identity', retryable: true })
      expect((err as Error).message).toContain('EDGE_ERR_HUB_IDENTITY_MISMATCH')
      expect(fake.requests).toEqual([])
      // The real hub, same client settings: accepted.
      const real = new HubClient({ url: hub.url, hubCaPem: hub.caPem, timeoutMs: 2000 })
      expect((await real.get('/healthz')).status).toBe(200)
      real.close()
      client.close()
    } finally {
      await fake.close()
      await hub.dispose()
    }
  })
})
