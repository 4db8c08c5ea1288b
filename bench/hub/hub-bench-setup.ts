import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generate } from 'otplib'
import type { ChildReaper } from '../processes/child-reaper.js'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import { cloudosBin } from '../../shared/package-root.js'
import { initHub } from '../../cloud/bootstrap/init-hub.js'
import { HUB_CA_CERT_FILE } from '../../cloud/bootstrap/hub-tls-files.js'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import type { DeviceId } from '../../cloud/devices/device-repository.js'
import type { HeartbeatInput } from '../../cloud/fleet/fleet-repository.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import type { BenchDevice } from './hub-bench-ipc.js'

const benchFacts = { cpuCount: 4, memoryBytes: 4 * 1024 ** 3, freeDiskBytes: 32 * 1024 ** 3, arch: 'x64', os: 'linux bench', runtimeVersion: process.version }

export interface InitialisedBenchHub {
  dataDir: string
  adminPassword: string
  totpSecret: string
  /** The hub CA `hub init` made (PEM): what clients of the HTTPS hub trust. */
  caPem: string
}

export async function initBenchHub(dataDir: string): Promise<InitialisedBenchHub> {
  const adminPassword = randomBytes(18).toString('base64url')
  const result = await initHub({ dataDir, adminPassword, tls: { hosts: ['127.0.0.1', 'localhost'] } })
  return { dataDir, adminPassword, totpSecret: result.totpSecret, caPem: readFileSync(join(dataDir, HUB_CA_CERT_FILE), 'utf8') }
}

/**
 * Registers `count` devices straight through the repositories (the hub is
 * not running yet), each with one heartbeat of health so list rows are full
 * size. synchronous=OFF on this setup connection only: setup speed, not a
 * measurement.
 */
export async function registerFleetDirectly(dataDir: string, count: number): Promise<void> {
  const store = SqliteHubStore.open(dataDir)
  try {
    store.db.pragma('synchronous = OFF')
    const now = Date.now()
    const heartbeats: HeartbeatInput[] = []
    for (let i = 0; i < count; i++) {
      const id = `dev-${randomUUIDLike(i)}` as DeviceId
      const tokenId = `et-fleet-${i}`
      await store.enrolmentTokens.create({ id: tokenId, tokenHash: `fleet-${i}`, group: `site-${i % 50}`, tier: i % 3 === 0 ? 'lite' : 'edge', createdBy: 'bench', createdAt: now, expiresAt: now + 60_000, usedAt: null, deviceId: null })
      await store.devices.enrol({
        id,
        name: `fleet-${i}`,
        group: `site-${i % 50}`,
        tier: i % 3 === 0 ? 'lite' : 'edge',
        publicKey: randomBytes(32).toString('base64'),
        facts: benchFacts,
        status: 'active',
        enrolmentTokenId: tokenId,
        enrolledAt: now - count + i,
        lastSeenAt: now,
        revokedAt: null,
        labels: { site: `site-${i % 50}`, rack: String(i % 7) },
      })
      heartbeats.push({ deviceId: id, at: now, health: { uptimeSeconds: 3600, queueDepth: 0, dbSizeBytes: 50_000_000, readingsPerSecond: 1000, rejectedPerSecond: 0, cpuPercent: 25, memoryBytes: 120_000_000, versions: { runtime: 'v20.20.2' } } })
      if (heartbeats.length === 500) await store.fleet.recordHeartbeats(heartbeats.splice(0), 1000)
    }
    if (heartbeats.length > 0) await store.fleet.recordHeartbeats(heartbeats, 1000)
  } finally {
    await store.close()
  }
}

function randomUUIDLike(i: number): string {
  const hex = i.toString(16).padStart(12, '0')
  return `00000000-0000-4000-8000-${hex}`
}

export interface HubProcess {
  child: ChildProcess
  /** https://127.0.0.1:<port> (http:// when started with --insecure-http) */
  url: string
}

/** Starts `cloudos hub` (the built CLI, its own process) on a free port; resolves with its URL from the ready line. */
export function startHubProcess(dataDir: string, reaper: ChildReaper, options: { config?: Record<string, unknown>; args?: string[] } = {}): Promise<HubProcess> {
  const configPath = join(dataDir, 'bench-hub-config.json')
  // The load comes from one address and a few devices at full speed: the per-address and per-device limits would measure the limiter.
  const rateLimits = { perDevice: 10_000_000, perSource: 10_000_000, enrolmentPerSource: 1_000_000 }
  writeFileSync(configPath, JSON.stringify({ fleet: { heartbeatIntervalSeconds: 10 }, rateLimits, ...options.config }))
  // warn: fastify logs two info lines per request otherwise, which would measure pino.
  const child = reaper.track(
    spawn(process.execPath, [cloudosBin(), 'hub', '--data-dir', dataDir, '--port', '0', '--config', configPath, ...(options.args ?? [])], {
      env: { ...process.env, CLOUDOS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 10_000) stderr += d
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CloudosError('BENCH_ERR_SETUP', `the hub did not report ready within 30 s: ${stderr.slice(0, 2000)}`)), 30_000)
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      try {
        const ready = JSON.parse(line) as { event?: string; url?: string }
        if (ready.event === 'hub.ready' && typeof ready.url === 'string') {
          clearTimeout(timer)
          resolve({ child, url: ready.url })
        }
      } catch {
        // not the ready line
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new CloudosError('BENCH_ERR_SETUP', `the hub exited (${signal ?? `code ${String(code)}`}) before it was ready: ${stderr.slice(0, 2000)}`))
    })
  })
}

/** Setup calls: over HTTPS trusting the hub CA (the edge's own transport), plain fetch for an --insecure-http hub. */
async function call(url: string, init: { method?: string; token?: string; body?: unknown; caPem?: string | undefined }): Promise<any> {
  const transport = url.startsWith('https:') ? createHubTransport({ hubCaPem: init.caPem }) : undefined
  const response = await (transport?.fetch ?? fetch)(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  const text = await response.text()
  transport?.close()
  if (!response.ok) throw new CloudosError('BENCH_ERR_SETUP', `${init.method ?? 'GET'} ${url}: ${response.status} ${text.slice(0, 500)}`)
  return JSON.parse(text) as unknown
}

/** Logs in as the admin (password + a TOTP code from the secret). */
export async function loginAdmin(baseUrl: string, hub: InitialisedBenchHub): Promise<string> {
  const totp = await generate({ secret: hub.totpSecret, epoch: Math.floor(Date.now() / 1000) })
  const answer = (await call(`${baseUrl}/v1/auth/login`, { method: 'POST', body: { username: 'admin', password: hub.adminPassword, totp }, caPem: hub.caPem })) as { token: string }
  return answer.token
}

/** Enrols `count` devices the way an edge does (token, own Ed25519 key, POST /v1/devices/enroll), `parallel` at a time. */
export async function enrolBenchDevices(baseUrl: string, adminToken: string, count: number, parallel = 8, caPem?: string): Promise<BenchDevice[]> {
  const devices: BenchDevice[] = []
  let next = 0
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++
      const created = (await call(`${baseUrl}/v1/enrolment-tokens`, { method: 'POST', token: adminToken, body: { group: `bench-${i % 10}`, tier: 'edge' }, caPem })) as { token: string }
      const { publicKey, privateKey } = generateDeviceKeyPair()
      const enrolled = (await call(`${baseUrl}/v1/devices/enroll`, {
        method: 'POST',
        body: { enrolmentToken: created.token, publicKey: encodePublicKey(publicKey), name: `bench-${i}`, facts: benchFacts },
        caPem,
      })) as { deviceId: string }
      devices.push({ deviceId: enrolled.deviceId, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string })
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return devices
}
