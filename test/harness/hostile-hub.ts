import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AnyExchange } from '../../shared/protocol/exchange.js'
import { alertsExchange, type AlertsBody } from '../../shared/protocol/alerts.js'
import { configReportExchange, configSyncExchange, type ConfigSyncRequest } from '../../shared/protocol/config-sync.js'
import { enrolExchange } from '../../shared/protocol/enrolment.js'
import { heartbeatExchange } from '../../shared/protocol/heartbeat.js'
import { otaReportExchange, otaTargetExchange, OTA_BUNDLE_ROUTE, type OtaReport } from '../../shared/protocol/ota.js'
import { batchUploadExchange } from '../../shared/protocol/telemetry.js'
import { decodeBatch } from '../../shared/telemetry-batch/index.js'

/**
 * A hostile hub: a small real HTTP server speaking the device protocol
 * (shared/protocol exchanges) to a real edge, honest by default, with a table
 * of overrides per exchange that answer what an attacker would (ids with
 * `../`, absolute paths, NUL bytes, over-long ids, a config pushing
 * device-local keys, a bomb as the bundle). It checks no signature: an
 * impostor does not need to.
 *
 * Add a hostile answer by passing `overrides: { otaTarget: (request, honest) => ... }`
 * or calling `hub.override(...)` while the edge runs; `honest()` gives the
 * answer an honest hub would have sent, to alter one field of it.
 */
export const HOSTILE_EXCHANGES = {
  enrolment: enrolExchange,
  heartbeat: heartbeatExchange,
  alerts: alertsExchange,
  telemetry: batchUploadExchange,
  configSync: configSyncExchange,
  configReport: configReportExchange,
  otaTarget: otaTargetExchange,
  otaReport: otaReportExchange,
} as const satisfies Record<string, AnyExchange>

/** Every exchange the hub answers, plus the bundle download (bytes, not JSON). */
export type HostileExchange = keyof typeof HOSTILE_EXCHANGES | 'bundle'

export interface HostileRequest {
  exchange: HostileExchange
  method: string
  /** Path and query as received. */
  url: string
  body: Buffer
  /** The JSON body, parsed (undefined for bytes or none). */
  json: unknown
}

export interface HostileAnswer {
  status: number
  /** JSON-serialised unless a Buffer (sent as application/octet-stream). */
  body: unknown
  headers?: Record<string, string>
}

export type HostileOverride = (request: HostileRequest, honest: () => HostileAnswer) => HostileAnswer | Promise<HostileAnswer>

export interface HostileHubOptions {
  overrides?: Partial<Record<HostileExchange, HostileOverride>>
}

export interface HostileHub {
  url: string
  /** Requests received per exchange. */
  readonly counts: Record<HostileExchange | 'unknown', number>
  /** OTA reports the edge sent. */
  readonly reports: OtaReport[]
  override(exchange: HostileExchange, override: HostileOverride | undefined): void
  /** Resolves once `exchange` has been answered `times` more times from now. */
  answered(exchange: HostileExchange, times?: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/**
 * The one place the hostile hub's server is created (plain HTTP today; the
 * hub-tls work switches this to HTTPS with the test CA at merge).
 */
export async function listenHubServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { server, url: `http://127.0.0.1:${port}` }
}

const bundleRoute = new RegExp(`^${OTA_BUNDLE_ROUTE.replace(':releaseId', '[^/?]+')}(\\?|$)`)

function exchangeOf(method: string, url: string): HostileExchange | undefined {
  const path = url.split('?')[0] as string
  if (method === 'GET' && bundleRoute.test(url)) return 'bundle'
  for (const [name, exchange] of Object.entries(HOSTILE_EXCHANGES)) if (exchange.method === method && exchange.path === path) return name as HostileExchange
  return undefined
}

export async function startHostileHub(options: HostileHubOptions = {}): Promise<HostileHub> {
  const overrides = new Map(Object.entries(options.overrides ?? {}) as [HostileExchange, HostileOverride][])
  const hubPublicKeyPem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const counts = Object.fromEntries([...Object.keys(HOSTILE_EXCHANGES), 'bundle', 'unknown'].map((k) => [k, 0])) as HostileHub['counts']
  const reports: OtaReport[] = []
  const waiters: { exchange: HostileExchange; at: number; resolve: () => void }[] = []
  let devices = 0
  let lastAlertSeq = 0

  /** What an honest hub of this version answers (enough for an edge to run). */
  async function honest(request: HostileRequest): Promise<HostileAnswer> {
    switch (request.exchange) {
      case 'enrolment':
        return { status: 201, body: { deviceId: `dev-hostile-${++devices}`, group: 'site', tier: 'edge', hubId: 'hub-hostile', hubPublicKeyPem } }
      case 'heartbeat':
        return { status: 200, body: { ok: true, heartbeatIntervalSeconds: 1 } }
      case 'alerts': {
        const alerts = (request.json as AlertsBody).alerts
        lastAlertSeq = Math.max(lastAlertSeq, ...alerts.map((a) => a.seq))
        return { status: 200, body: { accepted: alerts.length, duplicates: 0, lastSeq: lastAlertSeq } }
      }
      case 'telemetry': {
        const seq = decodeBatch(request.body).seq
        return { status: 200, body: { seq, duplicate: false, readings: 0, lastSeq: seq } }
      }
      case 'configSync': {
        // Hold a quiet long-poll a little, as the hub does, so the edge does not spin.
        const waitMs = Math.min((request.json as ConfigSyncRequest).waitMs ?? 0, 500)
        await new Promise((r) => setTimeout(r, waitMs))
        return { status: 200, body: { deviceId: `dev-hostile-${devices}`, group: 'site', messages: { device: null, group: null }, heads: { device: [], group: [] } } }
      }
      case 'configReport':
        return { status: 200, body: { inSync: true } }
      case 'otaTarget':
        return { status: 200, body: { release: null } }
      case 'otaReport':
        reports.push(request.json as OtaReport)
        return { status: 200, body: { state: (request.json as OtaReport).state, changed: true } }
      case 'bundle':
        return { status: 404, body: { code: 'HUB_ERR_NOT_FOUND', message: 'no bundle' } }
    }
  }

  function send(response: ServerResponse, answer: HostileAnswer): void {
    const bytes = Buffer.isBuffer(answer.body)
    response.writeHead(answer.status, { 'content-type': bytes ? 'application/octet-stream' : 'application/json', ...answer.headers })
    response.end(bytes ? answer.body : JSON.stringify(answer.body))
  }

  const { server, url } = await listenHubServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const chunk of request) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks)
      const method = request.method ?? 'GET'
      const path = request.url ?? '/'
      const exchange = exchangeOf(method, path)
      if (exchange === undefined) {
        counts.unknown++
        return send(response, { status: 404, body: { code: 'HUB_ERR_NOT_FOUND', message: path } })
      }
      let json: unknown
      if ((request.headers['content-type'] ?? '').startsWith('application/json') && body.length > 0) json = JSON.parse(body.toString('utf8'))
      const hostileRequest: HostileRequest = { exchange, method, url: path, body, json }
      const honestAnswer = await honest(hostileRequest)
      const override = overrides.get(exchange)
      const answer = override === undefined ? honestAnswer : await override(hostileRequest, () => structuredClone(honestAnswer))
      counts[exchange]++
      send(response, answer)
      for (const waiter of waiters.splice(0)) {
        if (waiter.exchange === exchange && counts[exchange] >= waiter.at) waiter.resolve()
        else waiters.push(waiter)
      }
    })().catch((err: Error) => {
      if (!response.headersSent) send(response, { status: 500, body: { code: 'HUB_ERR_INTERNAL', message: err.message } })
    })
  })

  return {
    url,
    counts,
    reports,
    override(exchange, override) {
      if (override === undefined) overrides.delete(exchange)
      else overrides.set(exchange, override)
    },
    answered(exchange, times = 1, timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the hostile hub did not answer ${exchange} ${times} more times in ${timeoutMs} ms (counts: ${JSON.stringify(counts)})`)), timeoutMs)
        waiters.push({ exchange, at: counts[exchange] + times, resolve: () => (clearTimeout(timer), resolve()) })
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
