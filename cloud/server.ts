import type { FastifyInstance } from 'fastify'
import { buildHubApp, type HubAppOptions } from './app.js'
import { resolveHubConfig } from './hub-config.js'

export interface RunningHub {
  app: FastifyInstance
  /** e.g. https://127.0.0.1:8080 (http:// with http.insecureHttp) */
  url: string
  /** True when it serves HTTPS (the default). */
  tls: boolean
  /** Stops accepting connections, lets in-flight requests finish, closes storage. */
  stop(): Promise<void>
}

/** Builds the hub app and listens on config.http.host:port. Nothing else lives here. */
export async function startHub(options: HubAppOptions & { host?: string; port?: number }): Promise<RunningHub> {
  const config = resolveHubConfig(options.config ?? {})
  const app = await buildHubApp({ ...options, config })
  const host = options.host ?? config.http.host
  const port = options.port ?? config.http.port
  try {
    await app.listen({ host, port })
  } catch (err) {
    await app.close()
    throw err
  }
  const address = app.server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  let stopping: Promise<void> | undefined
  return {
    app,
    url: `${config.http.insecureHttp ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    tls: !config.http.insecureHttp,
    stop: () => (stopping ??= app.close()),
  }
}
