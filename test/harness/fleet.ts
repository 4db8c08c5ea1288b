import type { TSchema } from '@sinclair/typebox'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import { readApiToken } from '../../edge/api/auth/api-token.js'
import { startRealHub, type RealHub } from './real-hub.js'
import { makeTempDir } from '../helpers/temp-dir.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

export interface FleetEdge {
  runtime: EdgeRuntime
  proxy: TcpProxy
  deviceId: string
  httpUrl: string
  dataDir: string
  /** The local API's bearer token (<dataDir>/api-token). */
  apiToken: string
  /** GET /v1/config on the edge's local API. */
  config(): Promise<Record<string, any>>
  /** PATCH /v1/config on the edge's local API, with the edge's token (`token: null`: none; a string: that one). */
  edit(body: Record<string, unknown>, options?: { token?: string | null }): Promise<{ status: number; body: Record<string, any> }>
}

export interface Fleet {
  hub: RealHub
  edges: FleetEdge[]
  /** PATCH a hub document with the admin token. */
  hubEdit(path: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }>
  dispose(): Promise<void>
}

/** A real hub and `count` in-process edge runtimes enrolled in `group`, each reaching the hub through its own cuttable TCP proxy. */
export async function startFleet(count: number, options: { group?: string; configSchema?: TSchema } = {}): Promise<Fleet> {
  const group = options.group ?? 'plant'
  const hub = await startRealHub(options.configSchema ? { configSchema: options.configSchema } : {})
  const edges: FleetEdge[] = []
  const dirs: { remove(): void }[] = []
  for (let i = 0; i < count; i++) {
    const proxy = await startTcpProxy(hub.port)
    const { token } = await hub.createEnrolmentToken({ group, tier: 'edge' })
    const dir = makeTempDir('cloudos-config-edge-')
    dirs.push(dir)
    const config = loadEdgeConfig(undefined, {
      mqtt: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      hub: { url: proxy.httpsUrl, requestTimeoutMs: 2000, backoffInitialMs: 50, backoffMaxMs: 300, heartbeatIntervalSeconds: 30 },
    })
    const runtime = new EdgeRuntime({ dataDir: dir.path, config, enrolmentToken: token })
    const endpoints = await runtime.start()
    const httpUrl = endpoints.httpUrl
    const apiToken = readApiToken(dir.path)
    edges.push({
      runtime,
      proxy,
      deviceId: runtime.configAgent.deviceId,
      httpUrl,
      dataDir: dir.path,
      apiToken,
      async config() {
        return (await (await fetch(`${httpUrl}/v1/config`)).json()) as Record<string, any>
      },
      async edit(body, editOptions = {}) {
        const token = editOptions.token === undefined ? apiToken : editOptions.token
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) }
        const response = await fetch(`${httpUrl}/v1/config`, { method: 'PATCH', headers, body: JSON.stringify(body) })
        return { status: response.status, body: (await response.json()) as Record<string, any> }
      },
    })
  }
  return {
    hub,
    edges,
    async hubEdit(path, body) {
      const response = await hub.fetch(`${hub.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${hub.adminToken}` }, body: JSON.stringify(body) })
      return { status: response.status, body: (await response.json()) as Record<string, any> }
    },
    async dispose() {
      for (const edge of edges) {
        await edge.runtime.stop()
        await edge.proxy.close()
      }
      await hub.dispose()
      for (const dir of dirs) dir.remove()
    },
  }
}
