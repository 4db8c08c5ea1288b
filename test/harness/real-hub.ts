import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { generate } from 'otplib'
import { buildHubApp } from '../../cloud/app.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { HUB_CA_CERT_FILE } from '../../cloud/bootstrap/hub-tls-files.js'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

/**
 * A real hub (cloud/app.ts) on the real clock, listening on loopback: what an
 * edge process talks to in these tests. It serves HTTPS with the CA `hub
 * init` created, as a hub does by default (`insecureHttp: true` for the
 * plain-HTTP variant). It can be stopped and started again on the same port
 * and data dir (a hub outage).
 */
export interface RealHub {
  /** https://127.0.0.1:<port> (http:// with insecureHttp) */
  url: string
  port: number
  dataDir: string
  /** True when it serves HTTPS (the default). */
  tls: boolean
  /** The hub CA (PEM) and its pin (`sha256:<hex>`), which every enrolment token carries. */
  caPem: string
  caPin: string
  /** The CA file in the data dir (for `--ca` of admin commands). */
  caFile: string
  /** A fetch that trusts this hub's CA (and only it): for admin calls a test makes itself. */
  fetch: typeof fetch
  /** The current app (replaced by restart). */
  app(): FastifyInstance
  /** An admin bearer token (one login per hub: TOTP codes are single use). */
  adminToken: string
  createEnrolmentToken(body?: Record<string, unknown>): Promise<{ id: string; token: string }>
  /** Admin GET on the hub API. */
  get<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }>
  post<T = Record<string, unknown>>(path: string, body?: unknown): Promise<{ status: number; body: T }>
  /** Closes the app: connections are refused until `start`. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops and removes the data dir. */
  dispose(): Promise<void>
}

const PASSWORD = 'edge hub test password'

export interface RealHubOptions {
  config?: unknown
  configSchema?: TSchema
  /** Serve plain HTTP (http.insecureHttp): for the tests about --insecure-http. */
  insecureHttp?: boolean
}

export async function startRealHub(options: RealHubOptions = {}): Promise<RealHub> {
  const dir: TempDir = makeTempDir('cloudos-edge-hub-')
  const init = await initHub({ dataDir: dir.path, adminPassword: PASSWORD, tls: { hosts: ['localhost', '127.0.0.1', '::1'] } })
  const insecureHttp = options.insecureHttp ?? false
  const config = withInsecureHttp(options.config ?? {}, insecureHttp)
  const caFile = join(dir.path, HUB_CA_CERT_FILE)
  const caPem = readFileSync(caFile, 'utf8')
  const transport = createHubTransport({ hubCaPem: caPem, insecureHttp })
  let app: FastifyInstance | undefined
  let port = 0
  const listen = async () => {
    app = await buildHubApp({ dataDir: dir.path, config, ...(options.configSchema ? { configSchema: options.configSchema } : {}) })
    await app.listen({ host: '127.0.0.1', port })
    const address = app.server.address()
    port = typeof address === 'object' && address !== null ? address.port : port
  }
  await listen()
  const url = `${insecureHttp ? 'http' : 'https'}://127.0.0.1:${port}`
  const request = async <T>(method: string, path: string, body?: unknown, token?: string) => {
    const response = await transport.fetch(`${url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: (await response.json()) as T }
  }
  const login = await request<{ token: string }>('POST', '/v1/auth/login', { username: 'admin', password: PASSWORD, totp: await generate({ secret: init.totpSecret }) })
  if (login.status !== 200) throw new Error(`hub login failed: ${JSON.stringify(login.body)}`)
  const adminToken = login.body.token
  const hub: RealHub = {
    url,
    port,
    dataDir: dir.path,
    tls: !insecureHttp,
    caPem,
    caPin: init.caPin,
    caFile,
    fetch: transport.fetch,
    app: () => app as FastifyInstance,
    adminToken,
    async createEnrolmentToken(body = { group: 'test-site', tier: 'edge' }) {
      const created = await request<{ id: string; token: string }>('POST', '/v1/enrolment-tokens', body, adminToken)
      if (created.status !== 201) throw new Error(`token creation failed: ${JSON.stringify(created.body)}`)
      return created.body
    },
    get: (path) => request('GET', path, undefined, adminToken),
    post: (path, body) => request('POST', path, body, adminToken),
    async stop() {
      await app?.close()
      app = undefined
    },
    async start() {
      if (app === undefined) await listen()
    },
    async dispose() {
      await hub.stop()
      transport.close()
      dir.remove()
    },
  }
  return hub
}

/** The config with http.insecureHttp set (a malformed config is left for the schema to report). */
function withInsecureHttp(config: unknown, insecureHttp: boolean): unknown {
  if (!insecureHttp || typeof config !== 'object' || config === null) return config
  const record = config as Record<string, unknown>
  return { ...record, http: { ...(record.http as Record<string, unknown> | undefined), insecureHttp: true } }
}

/** True when this hub build serves the device heartbeat and alert routes (issue 3, hub side). */
export function hubHasFleetRoutes(hub: RealHub): boolean {
  const app = hub.app()
  return app.hasRoute({ method: 'POST', url: '/v1/devices/me/heartbeat' }) && app.hasRoute({ method: 'POST', url: '/v1/devices/me/alerts' })
}
