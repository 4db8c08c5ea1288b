/**
 * One load-generator process of `cloudos bench hub`: receives its devices,
 * signs every request before the clock starts (so the measurement is the
 * hub's work, not this process's Ed25519 signing), reports ready, and on 'go'
 * sends them over kept-alive node:http (or node:https, verifying the hub CA
 * as an edge does) connections, `concurrency` at a time, timing each request.
 */
import { createPrivateKey } from 'node:crypto'
import { Agent, request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as TlsAgent, request as tlsRequest } from 'node:https'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import type { LoadJob, LoadOutcome, ToLoadGenerator, FromLoadGenerator } from './hub-bench-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'

interface PreparedRequest {
  path: string
  headers: Record<string, string>
  body: Buffer
}

let start: (() => void) | undefined

process.on('message', (message: ToLoadGenerator) => {
  switch (message.type) {
    case 'job':
      try {
        prepare(message.job)
      } catch (err) {
        fail(err)
      }
      break
    case 'go':
      start?.()
      break
    case 'exit':
      process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))

/** A plausible heartbeat body; values vary so no two bodies (hashes) are equal. */
function heartbeatBody(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      uptimeSeconds: 3600 + i,
      queueDepth: i % 50,
      dbSizeBytes: 50_000_000 + i,
      readingsPerSecond: 1000 + (i % 100) / 10,
      rejectedPerSecond: (i % 7) / 10,
      cpuPercent: 20 + (i % 30),
      memoryBytes: 120_000_000 + i,
      versions: { runtime: 'v20.20.2' },
    }),
  )
}

function prepare(job: LoadJob): void {
  const signStarted = performance.now()
  const keys = job.devices.map((d) => (d.privateKeyPem === null ? null : createPrivateKey(d.privateKeyPem)))
  const prepared: PreparedRequest[] = []
  for (let i = 0; i < job.requests; i++) {
    const index = i % job.devices.length
    const device = job.devices[index] as LoadJob['devices'][number]
    const key = keys[index]
    const path = job.pathTemplate.replace('{deviceId}', device.deviceId)
    const body = heartbeatBody(i)
    const signature = key == null ? {} : signDeviceRequest(key, { deviceId: device.deviceId, method: 'POST', path, body })
    prepared.push({ path, body, headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...signature } })
  }
  const signMs = performance.now() - signStarted
  const url = new URL(job.baseUrl)
  // Kept-alive connections as an edge keeps them: a TLS handshake per connection, not per heartbeat.
  const agent = url.protocol === 'https:' ? new TlsAgent({ keepAlive: true, maxSockets: job.concurrency, ca: job.caPem ?? [] }) : new Agent({ keepAlive: true, maxSockets: job.concurrency })
  start = () => {
    start = undefined
    run(url, agent, prepared, job.concurrency, signMs).then((outcome) => sendToParent<FromLoadGenerator>({ type: 'done', outcome }), fail)
  }
  sendToParent<FromLoadGenerator>({ type: 'ready', signMs })
}

type AnyAgent = Agent | TlsAgent
const requestFor = (url: URL): ((options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest) => (url.protocol === 'https:' ? tlsRequest : request)

function send(url: URL, agent: AnyAgent, prepared: PreparedRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = requestFor(url)({ host: url.hostname, port: url.port, method: 'POST', path: prepared.path, headers: prepared.headers, agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(prepared.body)
  })
}

async function run(url: URL, agent: AnyAgent, prepared: PreparedRequest[], concurrency: number, signMs: number): Promise<LoadOutcome> {
  const latenciesMs: number[] = []
  let next = 0
  let failed = 0
  let firstError: string | null = null
  const started = performance.now()
  async function worker(): Promise<void> {
    while (next < prepared.length) {
      const item = prepared[next++] as PreparedRequest
      const t0 = performance.now()
      try {
        const answer = await send(url, agent, item)
        if (answer.status === 200) latenciesMs.push(performance.now() - t0)
        else {
          failed++
          firstError ??= `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`
        }
      } catch (err) {
        failed++
        firstError ??= (err as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return { ok: latenciesMs.length, failed, firstError, seconds, latenciesMs, signMs }
}

function fail(err: unknown): void {
  sendToParent<FromLoadGenerator>({ type: 'error', message: (err as Error).message ?? String(err) })
}
