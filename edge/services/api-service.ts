import { chmodSync, lstatSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import { buildEdgeApi } from '../api/app.js'
import type { EdgeApiContext } from '../api/context.js'
import type { EdgeService } from './edge-service.js'

/**
 * The local HTTP API. Owns `http` (needs a restart). Registered right after
 * the database, so it listens before the data path starts and closes only
 * after the final commit and the last scores: /healthz and the queries
 * answer for as long as the edge holds data.
 */
export class ApiService implements EdgeService {
  readonly name = 'api'
  readonly sections = ['http'] as const
  readonly #http: EdgeConfig['http']
  readonly #context: EdgeApiContext
  readonly #token: () => string
  #app: FastifyInstance | undefined
  #socket: Server | undefined

  /** `token`: the local API's bearer token in effect (edge/api/auth/api-token.ts). */
  constructor(http: EdgeConfig['http'], context: EdgeApiContext, token: () => string) {
    this.#http = http
    this.#context = context
    this.#token = token
  }

  /** The bound port (after start). */
  get port(): number {
    if (this.#app === undefined) throw new Error('the edge API is not started')
    return (this.#app.server.address() as AddressInfo).port
  }

  /** The base URL local clients use: loopback when the API listens on every interface. */
  get url(): string {
    return `http://${this.#http.host === '0.0.0.0' ? '127.0.0.1' : this.#http.host}:${this.port}`
  }

  async start(): Promise<void> {
    this.#app = await buildEdgeApi({ context: this.#context, access: { token: this.#token, host: this.#http.host } })
    await this.#app.listen({ host: this.#http.host, port: this.#http.port })
    if (this.#http.socketPath !== undefined) this.#socket = await this.#listenOnSocket(this.#app, this.#http.socketPath)
  }

  /**
   * `http.socketPath`: the same app on a Unix socket, mode 0600, so file
   * permissions decide who may connect at all. A stale socket left by a
   * crash is replaced; any other file at the path is not touched.
   */
  async #listenOnSocket(app: FastifyInstance, path: string): Promise<Server> {
    try {
      if (lstatSync(path).isSocket()) rmSync(path)
    } catch {
      // nothing there
    }
    const server = createServer((req, res) => app.routing(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ path, readableAll: false, writableAll: false }, () => resolve())
    })
    chmodSync(path, 0o600)
    return server
  }

  async stop(): Promise<void> {
    const socket = this.#socket
    if (socket !== undefined) {
      const closed = new Promise<void>((resolve) => socket.close(() => resolve()))
      socket.closeAllConnections()
      await closed
    }
    await this.#app?.close()
  }
}
