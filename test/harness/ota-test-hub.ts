import { createHash, generateKeyPairSync } from 'node:crypto'
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { decodePublicKey, readDeviceAuthHeaders, ReplayCache, verifyDeviceRequest } from '../../shared/device-auth/index.js'
import type { AlertsAnswer } from '../../shared/protocol/alerts.js'
import type { EnrolAnswer } from '../../shared/protocol/enrolment.js'
import type { HeartbeatAnswer } from '../../shared/protocol/heartbeat.js'
import type { BundleKind, OtaReport, OtaReportAnswer, OtaTarget } from '../../shared/protocol/ota.js'

/**
 * A tiny real HTTP hub for the OTA tests: enrolment, heartbeats, alerts, and
 * the OTA device routes as the hub helper builds them (GET /v1/devices/me/ota
 * answering an OtaTarget, the bundle with Range, POST .../ota/report). Every
 * device request's signature is verified.
 */
export interface OtaTestHub {
  url: string
  reports: OtaReport[]
  /** versions.runtime of each heartbeat, in order. */
  runtimeVersions: string[]
  badSignatures: number
  /** Range headers the bundle route received. */
  ranges: (string | undefined)[]
  /** Serve this bundle file as the device's target (null: nothing to install). */
  setTarget(bundle: null | { path: string; name: string; version: string; kind: BundleKind; releaseId?: string; allowDowngrade?: boolean; announcedBytes?: number }): void
  /** Bytes per second the bundle route sends (0: unthrottled). */
  throttleBytesPerSecond: number
  reportsFor(releaseId: string): string[]
  close(): Promise<void>
}

export async function startOtaTestHub(): Promise<OtaTestHub> {
  const devices = new Map<string, string>()
  const replays = new ReplayCache()
  const hubKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
  let target: OtaTarget = { release: null }
  let bundlePath: string | undefined
  let counter = 0
  const state = {
    reports: [] as OtaReport[],
    runtimeVersions: [] as string[],
    badSignatures: 0,
    ranges: [] as (string | undefined)[],
    throttleBytesPerSecond: 0,
  }

  async function body(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }
  function json(response: ServerResponse, status: number, value: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
  }
  function authenticated(request: IncomingMessage, raw: Buffer): boolean {
    const headers = readDeviceAuthHeaders(request.headers)
    const key = headers === undefined ? undefined : devices.get(headers.deviceId)
    const ok =
      headers !== undefined &&
      key !== undefined &&
      verifyDeviceRequest({
        publicKey: decodePublicKey(key),
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        body: raw,
        headers,
        now: Date.now(),
        maxSkewMs: 300_000,
        rememberNonce: (id, nonce, exp) => replays.remember(id, nonce, exp),
      }).ok
    if (!ok) state.badSignatures++
    return ok
  }

  async function serveBundle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (bundlePath === undefined) return json(response, 404, { code: 'HUB_ERR_NOT_FOUND', message: 'no bundle' })
    const size = statSync(bundlePath).size
    const range = request.headers.range
    state.ranges.push(range)
    let start = 0
    if (range !== undefined) {
      const m = /^bytes=(\d+)-$/.exec(range)
      start = m === null ? 0 : Number(m[1])
      if (start >= size) {
        response.writeHead(416, { 'content-range': `bytes */${size}` }).end()
        return
      }
      response.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': size - start, 'content-range': `bytes ${start}-${size - 1}/${size}` })
    } else {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
    }
    const stream = createReadStream(bundlePath, { start, highWaterMark: 16 * 1024 })
    for await (const chunk of stream) {
      if (response.destroyed) break
      response.write(chunk)
      if (state.throttleBytesPerSecond > 0) await new Promise((r) => setTimeout(r, ((chunk as Buffer).length / state.throttleBytesPerSecond) * 1000))
    }
    response.end()
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const raw = await body(request)
      const url = request.url ?? '/'
      if (request.method === 'POST' && url === '/v1/devices/enroll') {
        const enrol = JSON.parse(raw.toString('utf8')) as { publicKey: string }
        const deviceId = `dev-${++counter}`
        devices.set(deviceId, enrol.publicKey)
        return json(response, 201, { deviceId, group: 'default', tier: 'edge', hubId: 'test-hub', hubPublicKeyPem: hubKey } satisfies EnrolAnswer)
      }
      if (!authenticated(request, raw)) return json(response, 401, { code: 'HUB_ERR_DEVICE_UNAUTHENTICATED', message: 'bad signature' })
      if (request.method === 'POST' && url === '/v1/devices/me/heartbeat') {
        const sample = JSON.parse(raw.toString('utf8')) as { versions?: { runtime?: string } }
        state.runtimeVersions.push(sample.versions?.runtime ?? '?')
        return json(response, 200, { ok: true, heartbeatIntervalSeconds: 1 } satisfies HeartbeatAnswer)
      }
      if (request.method === 'POST' && url === '/v1/devices/me/alerts') return json(response, 200, { accepted: 0, duplicates: 0, lastSeq: 0 } satisfies AlertsAnswer)
      if (request.method === 'GET' && url === '/v1/devices/me/ota') return json(response, 200, target)
      if (request.method === 'POST' && url === '/v1/devices/me/ota/report') {
        const report = JSON.parse(raw.toString('utf8')) as OtaReport
        state.reports.push(report)
        return json(response, 200, { state: report.state, changed: true } satisfies OtaReportAnswer)
      }
      if (request.method === 'GET' && url.startsWith('/v1/devices/me/ota/bundle/')) return serveBundle(request, response)
      return json(response, 404, { code: 'HUB_ERR_NOT_FOUND', message: url })
    })().catch((err: Error) => {
      if (!response.headersSent) json(response, 500, { code: 'HUB_ERR_INTERNAL', message: err.message })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return Object.assign(state, {
    // Plain HTTP: edges are started with --insecure-http (the pinned-TLS path is tested against the real hub).
    url: `http://127.0.0.1:${port}`,
    setTarget(bundle: Parameters<OtaTestHub['setTarget']>[0]) {
      if (bundle === null) {
        target = { release: null }
        bundlePath = undefined
        return
      }
      bundlePath = bundle.path
      const bytes = statSync(bundle.path).size
      const releaseId = bundle.releaseId ?? `rel-${bundle.version}`
      target = {
        release: {
          releaseId,
          rolloutId: `ro-${releaseId}`,
          name: bundle.name,
          version: bundle.version,
          kind: bundle.kind,
          bundleBytes: bundle.announcedBytes ?? bytes,
          bundleSha256: createHash('sha256').update(readFileSync(bundle.path)).digest('hex'),
          downloadPath: `/v1/devices/me/ota/bundle/${releaseId}`,
          allowDowngrade: bundle.allowDowngrade ?? false,
        },
      }
    },
    reportsFor(releaseId: string) {
      return state.reports.filter((r) => r.releaseId === releaseId).map((r) => r.state)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }) as OtaTestHub
}
