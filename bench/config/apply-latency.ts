import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { generate } from 'otplib'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import { buildHubApp } from '../../cloud/app.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { HUB_CA_CERT_FILE } from '../../cloud/bootstrap/hub-tls-files.js'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import { summariseLatencies, type LatencySummary } from '../measure/statistics.js'

export interface ApplyLatencyResult {
  crdt: LatencySummary & { samples: number }
  /** The same edits, seen by an edge polling a plain JSON endpoint every `pollIntervalMs`. */
  polling: LatencySummary & { samples: number; pollIntervalMs: number }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Time from an operator's PATCH at the hub to the new value applied in an
 * online edge runtime (enrolled, long-polling over loopback): a real hub on
 * SQLite and a real edge runtime in this process. Baseline: a plain fastify
 * endpoint serving the config as JSON and an edge polling it.
 */
export async function measureApplyLatency(samples: number, pollIntervalMs: number): Promise<ApplyLatencyResult> {
  const hubDir = mkdtempSync(join(tmpdir(), 'cloudos-bench-config-hub-'))
  const edgeDir = mkdtempSync(join(tmpdir(), 'cloudos-bench-config-edge-'))
  const password = 'bench config admin password'
  const init = await initHub({ dataDir: hubDir, adminPassword: password, tls: { hosts: ['127.0.0.1'] } })
  const hub = await buildHubApp({ dataDir: hubDir })
  // The hub serves HTTPS (its default); the bench's own calls trust its CA as the edge does.
  const transport = createHubTransport({ hubCaPem: readFileSync(join(hubDir, HUB_CA_CERT_FILE), 'utf8') })
  let edge: EdgeRuntime | undefined
  try {
    await hub.listen({ host: '127.0.0.1', port: 0 })
    const url = `https://127.0.0.1:${(hub.server.address() as { port: number }).port}`
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const response = await transport.fetch(`${url}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const json = (await response.json()) as Record<string, any>
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`)
      return json
    }
    const { token } = await call('POST', '/v1/auth/login', { username: 'admin', password, totp: await generate({ secret: init.totpSecret }) })
    const enrolment = await call('POST', '/v1/enrolment-tokens', { group: 'bench', tier: 'edge' }, token)
    const config = loadEdgeConfig(undefined, { mqtt: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, hub: { url, heartbeatIntervalSeconds: 60 } })
    edge = new EdgeRuntime({ dataDir: edgeDir, config, enrolmentToken: enrolment.token as string })
    await edge.start()
    const runtime = edge
    // Wait for the first exchange, so the edge is long-polling.
    for (let i = 0; i < 500; i++) {
      const twin = (await call('GET', `/v1/config/devices/${runtime.configAgent.deviceId}`, undefined, token)).twin as { reported: unknown }
      if (twin.reported !== null) break
      await sleep(20)
    }
    await sleep(300)
    const crdt: number[] = []
    for (let i = 0; i < samples; i++) {
      const value = 2048 + i
      const applied = new Promise<number>((resolve) => {
        const check = () => {
          if (runtime.config.ingest.maxPayloadBytes === value) {
            runtime.configAgent.off('outcome', check)
            resolve(performance.now())
          }
        }
        runtime.configAgent.on('outcome', check)
      })
      const began = performance.now()
      await call('PATCH', '/v1/config/groups/bench', { set: { 'ingest.maxPayloadBytes': value } }, token)
      crdt.push((await applied) - began)
      await sleep(20)
    }
    return { crdt: { ...summariseLatencies(crdt), samples }, polling: { ...(await pollingBaseline(samples, pollIntervalMs)), samples, pollIntervalMs } }
  } finally {
    await edge?.stop()
    await hub.close()
    transport.close()
    rmSync(hubDir, { recursive: true, force: true })
    rmSync(edgeDir, { recursive: true, force: true })
  }
}

/** A config endpoint (whole JSON document) and a client polling it, as a device shadow without push would. */
async function pollingBaseline(samples: number, pollIntervalMs: number): Promise<LatencySummary> {
  let document = { ingest: { maxPayloadBytes: 0 } }
  const server = Fastify()
  server.get('/config', async () => document)
  server.put('/config', async (request) => {
    document = request.body as typeof document
    return { ok: true }
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  let seen = 0
  let stopped = false
  const poller = (async () => {
    while (!stopped) {
      seen = ((await (await fetch(`${url}/config`)).json()) as typeof document).ingest.maxPayloadBytes
      await sleep(pollIntervalMs)
    }
  })()
  const latencies: number[] = []
  try {
    for (let i = 0; i < samples; i++) {
      const value = 2048 + i
      await sleep(Math.random() * pollIntervalMs)
      const began = performance.now()
      await fetch(`${url}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ingest: { maxPayloadBytes: value } }) })
      while (seen !== value) await sleep(1)
      latencies.push(performance.now() - began)
    }
  } finally {
    stopped = true
    await poller
    await server.close()
  }
  return summariseLatencies(latencies)
}
