import Fastify from 'fastify'
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HubClient, HubRequestError } from '../../edge/hub-link/hub-client.js'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { freePort } from '../helpers/processes.js'
import { startContractHub, type ContractHub } from '../harness/contract-hub.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.()
})

async function hubWithDevice(): Promise<{ hub: ContractHub; client: HubClient }> {
  const keys = generateDeviceKeyPair()
  const hub = await startContractHub(new Map([['dev-1', encodePublicKey(keys.publicKey)]]))
  closers.push(() => hub.close())
  const client = new HubClient({ url: hub.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-1', privateKey: keys.privateKey } })
  return { hub, client }
}

async function failure(promise: Promise<unknown>): Promise<HubRequestError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(HubRequestError)
  return err as HubRequestError
}

describe('HubClient', () => {
  it('signs every request over the exact body it sends (verified with shared/device-auth)', async () => {
    const { hub, client } = await hubWithDevice()
    const answer = await client.post('/v1/devices/me/heartbeat', { uptimeSeconds: 1, note: 'ünïcödé' })
    expect(answer).toEqual({ status: 200, body: { ok: true, heartbeatIntervalSeconds: 10 } })
    await client.post('/v1/devices/me/heartbeat', { uptimeSeconds: 2 })
    expect(hub.heartbeats).toEqual([{ uptimeSeconds: 1, note: 'ünïcödé' }, { uptimeSeconds: 2 }])
    expect(hub.badSignatures).toBe(0)

    const stranger = new HubClient({ url: hub.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-1', privateKey: generateDeviceKeyPair().privateKey } })
    const refused = await failure(stranger.post('/v1/devices/me/heartbeat', {}))
    expect(refused).toMatchObject({ kind: 'refused', status: 401, hubCode: 'HUB_ERR_DEVICE_UNAUTHENTICATED', retryable: false })
    expect(hub.badSignatures).toBe(1)
  })

  it('keeps a path prefix of the hub URL and signs the full path', async () => {
    const keys = generateDeviceKeyPair()
    const app = Fastify()
    let seenUrl = ''
    app.post('/prefix/v1/devices/me/heartbeat', async (request) => {
      seenUrl = request.url
      return { ok: true }
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    closers.push(() => app.close())
    const address = app.server.address() as { port: number }
    const client = new HubClient({ url: `http://127.0.0.1:${address.port}/prefix`, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'd', privateKey: keys.privateKey } })
    await client.post('/v1/devices/me/heartbeat', {})
    expect(seenUrl).toBe('/prefix/v1/devices/me/heartbeat')
  })

  it('classifies failures: 5xx is retryable, 4xx is not, with the hub code and message', async () => {
    const { hub, client } = await hubWithDevice()
    hub.failWith = 503
    expect(await failure(client.post('/v1/devices/me/heartbeat', {}))).toMatchObject({ kind: 'server', status: 503, hubCode: 'HUB_ERR_INTERNAL', retryable: true })
    hub.failWith = 403
    const revoked = await failure(client.post('/v1/devices/me/heartbeat', {}))
    expect(revoked).toMatchObject({ kind: 'refused', status: 403, hubCode: 'HUB_ERR_DEVICE_REVOKED' })
    expect(revoked.message).toContain('device was revoked')
  })

  it('reports an unreachable hub and a hub that does not answer in time', async () => {
    const closed = new HubClient({ url: `http://127.0.0.1:${await freePort()}`, insecureHttp: true, timeoutMs: 2000 })
    const refused = await failure(closed.get('/healthz'))
    expect(refused.kind).toBe('unreachable')
    expect(refused.message).toMatch(/ECONNREFUSED/)

    // Accepts connections but never answers.
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    closers.push(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => silent.close(resolve))
    })
    const port = (silent.address() as { port: number }).port
    const slow = new HubClient({ url: `http://127.0.0.1:${port}`, insecureHttp: true, timeoutMs: 200 })
    const started = Date.now()
    const timedOut = await failure(slow.get('/healthz'))
    expect(timedOut).toMatchObject({ kind: 'unreachable', retryable: true })
    expect(timedOut.message).toContain('no answer within 200 ms')
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('HubClient.close', () => {
  it('abandons a request in flight at once instead of waiting for the timeout', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    closers.push(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => silent.close(resolve))
    })
    const client = new HubClient({ url: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, insecureHttp: true, timeoutMs: 30_000 })
    const started = Date.now()
    const pending = failure(client.get('/healthz'))
    setTimeout(() => client.close(), 50)
    const err = await pending
    expect(err.message).toContain('abandoned')
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
