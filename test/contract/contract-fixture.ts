import type { Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, expect } from 'vitest'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import type { DeviceIdentity } from '../../edge/hub-link/device-identity.js'
import { HubClient, type ExchangeOptions, type ExchangeSend } from '../../edge/hub-link/hub-client.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import type { Logger } from '../../shared/log/logger.js'
import type { AnyExchange } from '../../shared/protocol/exchange.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

/**
 * Contract tests: the real hub app (cloud/app.ts, on loopback) against the
 * real edge code that makes each call. Every answer the edge receives is
 * recorded by a HubClient that is the real one plus a log, and checked again
 * here against the shared schema (shared/protocol).
 */

/** The real HubClient, recording what each exchange answered. */
export class RecordingHubClient extends HubClient {
  readonly answers: { exchange: AnyExchange; answer: unknown }[] = []

  override async exchange<E extends AnyExchange>(exchange: E, body: ExchangeSend<E>, options?: ExchangeOptions): Promise<Static<E['answer']>> {
    const answer = await super.exchange(exchange, body, options)
    this.answers.push({ exchange, answer })
    return answer
  }

  /** The answers recorded for one exchange, each checked against its shared schema. */
  answersTo<E extends AnyExchange>(exchange: E): Static<E['answer']>[] {
    const answers = this.answers.filter((a) => a.exchange === exchange).map((a) => a.answer)
    for (const answer of answers) expectMatches(exchange, answer)
    return answers as Static<E['answer']>[]
  }
}

/** Fails with TypeBox's words when `answer` is not what `exchange` promises. */
export function expectMatches(exchange: AnyExchange, answer: unknown): void {
  const errors = [...Value.Errors(exchange.answer, answer)].map((e) => `${e.path} ${e.message}`)
  expect(errors, `${exchange.name} answer ${JSON.stringify(answer)}`).toEqual([])
}

export const quietLogger = (): Logger & { lines: string[] } => {
  const lines: string[] = []
  const log = (message: string, fields?: Record<string, unknown>) => lines.push(fields === undefined ? message : `${message} ${JSON.stringify(fields)}`)
  return { lines, info: log, warn: log, error: log }
}

export interface ContractEdge {
  identity: DeviceIdentity
  dataDir: string
  client: RecordingHubClient
  db: SqliteDatabase
}

export interface ContractSetup {
  hub: RealHub
  tmp: TempDir
  /** Enrols a new device through the edge's own enrolment code and opens its database. */
  enrolEdge(options?: { group?: string }): Promise<ContractEdge>
  dispose(): Promise<void>
}

export async function startContractSetup(): Promise<ContractSetup> {
  const hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
  const tmp = makeTempDir('cloudos-contract-')
  const dbs: SqliteDatabase[] = []
  const clients: HubClient[] = []
  let n = 0
  return {
    hub,
    tmp,
    async enrolEdge(options = {}) {
      const dataDir = `${tmp.path}/edge-${n++}`
      const { token } = await hub.createEnrolmentToken({ group: options.group ?? 'contract-site', tier: 'edge' })
      const identity = await ensureEnrolled({ dataDir, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: quietLogger() })
      const client = new RecordingHubClient({ url: hub.url, hubCaPem: identity.hubCaPem, timeoutMs: 5000, credentials: { deviceId: identity.deviceId, privateKey: identity.privateKey } })
      clients.push(client)
      const db = openEdgeDatabase({ dataDir, synchronous: 'normal' })
      dbs.push(db)
      return { identity, dataDir, client, db }
    },
    async dispose() {
      for (const client of clients) client.close()
      for (const db of dbs) db.close()
      await hub.dispose()
      tmp.remove()
    },
  }
}

/** One contract setup for the calling test file: started before its tests, disposed after them. */
export function useContractSetup(): ContractSetup {
  let live: ContractSetup | undefined
  beforeAll(async () => {
    live = await startContractSetup()
  })
  afterAll(async () => {
    await live?.dispose()
  })
  const current = (): ContractSetup => {
    if (live === undefined) throw new Error('the contract setup starts in beforeAll')
    return live
  }
  return {
    get hub() {
      return current().hub
    },
    get tmp() {
      return current().tmp
    },
    enrolEdge: (options) => current().enrolEdge(options),
    dispose: () => current().dispose(),
  }
}

/**
 * A tiny stand-in hub whose answer to one route is whatever the test says: a
 * wrong shape shows what the edge does with a hub that breaks the contract.
 * (Signatures are not checked here: the real hub's contract tests do that.)
 */
export async function startMisbehavingHub(routes: { method: 'GET' | 'POST'; path: string; status?: number; answer: () => unknown }[]): Promise<{ url: string; app: FastifyInstance; calls: Map<string, number> }> {
  const app = Fastify()
  const calls = new Map<string, number>()
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (_request, reply) => {
        calls.set(route.path, (calls.get(route.path) ?? 0) + 1)
        return reply.status(route.status ?? 200).send(route.answer())
      },
    })
  }
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  // Plain HTTP: the edge code under test is told so (insecureHttp), as a device would be with --insecure-http.
  return { url: `http://127.0.0.1:${port}`, app, calls }
}
