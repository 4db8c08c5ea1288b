import Fastify, { type FastifyInstance } from 'fastify'
import { decodePublicKey, readDeviceAuthHeaders, ReplayCache, verifyDeviceRequest } from '../../shared/device-auth/index.js'

/**
 * A stand-in for the hub's device routes, built to the contract of issue 3
 * (`POST /v1/devices/me/heartbeat`, `POST /v1/devices/me/alerts`, dedup by
 * (device, seq)), that verifies every signature with shared/device-auth. It
 * lets the link's timing, outage and crash cases be driven exactly; the
 * end-to-end tests run the same flows against the real hub.
 */
export interface ContractHub {
  app: FastifyInstance
  url: string
  heartbeats: Record<string, unknown>[]
  /** Alert seqs in the order the hub stored them (duplicates not included). */
  storedSeqs: number[]
  duplicates: number
  /** Requests whose signature did not verify. */
  badSignatures: number
  /** Answer every device request with this status (503, 403 revoked...) until cleared. */
  failWith: number | undefined
  /** Store the next alert batch but lose the answer (simulates a crash or timeout after the hub's commit). */
  dropNextAlertAnswer: boolean
  heartbeatIntervalSeconds: number | undefined
  close(): Promise<void>
}

export async function startContractHub(devices: Map<string, string>): Promise<ContractHub> {
  const app = Fastify()
  const replays = new ReplayCache()
  const stored = new Set<number>()
  const state = {
    heartbeats: [] as Record<string, unknown>[],
    storedSeqs: [] as number[],
    duplicates: 0,
    badSignatures: 0,
    failWith: undefined as number | undefined,
    dropNextAlertAnswer: false,
    heartbeatIntervalSeconds: undefined as number | undefined,
  }
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    ;(request as unknown as { rawBody: Buffer }).rawBody = body as Buffer
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')))
    } catch (err) {
      done(err as Error)
    }
  })
  app.addHook('preHandler', async (request, reply) => {
    const headers = readDeviceAuthHeaders(request.headers)
    const publicKey = headers === undefined ? undefined : devices.get(headers.deviceId)
    const ok =
      headers !== undefined &&
      publicKey !== undefined &&
      verifyDeviceRequest({
        publicKey: decodePublicKey(publicKey),
        method: request.method,
        path: request.url,
        body: (request as unknown as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0),
        headers,
        now: Date.now(),
        maxSkewMs: 300_000,
        rememberNonce: (id, nonce, exp) => replays.remember(id, nonce, exp),
      }).ok
    if (!ok) {
      state.badSignatures++
      return reply.status(401).send({ code: 'HUB_ERR_DEVICE_UNAUTHENTICATED', message: 'bad signature' })
    }
    if (state.failWith === 403) return reply.status(403).send({ code: 'HUB_ERR_DEVICE_REVOKED', message: 'device was revoked' })
    if (state.failWith !== undefined) return reply.status(state.failWith).send({ code: 'HUB_ERR_INTERNAL', message: 'failing on purpose' })
  })
  app.post('/v1/devices/me/heartbeat', async (request) => {
    state.heartbeats.push(request.body as Record<string, unknown>)
    return { ok: true, heartbeatIntervalSeconds: state.heartbeatIntervalSeconds ?? 10 }
  })
  app.post('/v1/devices/me/alerts', async (request, reply) => {
    const { alerts } = request.body as { alerts: { seq: number }[] }
    let accepted = 0
    let duplicates = 0
    for (const alert of alerts) {
      if (stored.has(alert.seq)) duplicates++
      else {
        stored.add(alert.seq)
        state.storedSeqs.push(alert.seq)
        accepted++
      }
    }
    state.duplicates += duplicates
    if (state.dropNextAlertAnswer) {
      state.dropNextAlertAnswer = false
      return reply.status(502).send({ code: 'HUB_ERR_INTERNAL', message: 'answer lost on the way back' })
    }
    return { accepted, duplicates, lastSeq: Math.max(0, ...stored) }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return Object.assign(state, { app, url: `http://127.0.0.1:${port}`, close: () => app.close() }) as ContractHub
}
