import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { generate } from 'otplib'
import { buildHubApp } from '../../cloud/app.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

/**
 * A real hub (cloud/app.ts) on the real clock, listening on loopback: what an
 * edge process talks to in these tests. It can be stopped and started again
 * on the same port and data dir (a hub outage).
 */
export interface RealHub {
  url: string
  port: number
  dataDir: string
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

export async function startRealHub(options: { config?: unknown; configSchema?: TSchema } = {}): Promise<RealHub> {
  const dir: TempDir = makeTempDir('cloudos-edge-hub-')
  const init = await initHub({ dataDir: dir.path, adminPassword: PASSWORD })
  let app: FastifyInstance | undefined
  let port = 0
  const listen = async () => {
    app = await buildHubApp({ dataDir: dir.path, config: options.config ?? {}, ...(options.configSchema ? { configSchema: options.configSchema } : {}) })
    await app.listen({ host: '127.0.0.1', port })
    const address = app.server.address()
    port = typeof address === 'object' && address !== null ? address.port : port
  }
  await listen()
  const url = `http://127.0.0.1:${port}`
  const request = async <T>(method: string, path: string, body?: unknown, token?: string) => {
    const response = await fetch(`${url}${path}`, {
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
      dir.remove()
    },
  }
  return hub
}

/** True when this hub build serves the device heartbeat and alert routes (issue 3, hub side). */
export function hubHasFleetRoutes(hub: RealHub): boolean {
  const app = hub.app()
  return app.hasRoute({ method: 'POST', url: '/v1/devices/me/heartbeat' }) && app.hasRoute({ method: 'POST', url: '/v1/devices/me/alerts' })
}
