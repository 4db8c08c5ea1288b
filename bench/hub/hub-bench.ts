import type { ChildProcess } from 'node:child_process'
import { cpSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { Agent as TlsAgent, request as tlsRequest } from 'node:https'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { exitChild, forkBenchModule, sendToChild, waitForMessage } from '../processes/child-ipc.js'
import { BenchSession } from '../processes/bench-session.js'
import { stopChild, type ChildReaper } from '../processes/child-reaper.js'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median, summariseLatencies, type LatencySummary } from '../measure/statistics.js'
import { HUB_DB_FILE } from '../../cloud/store/sqlite-database.js'
import { enrolBenchDevices, initBenchHub, loginAdmin, registerFleetDirectly, startHubProcess } from './hub-bench-setup.js'
import type { BenchDevice, FromLoadGenerator, FromPlainServer, LoadOutcome } from './hub-bench-ipc.js'
import { measureVerification, type VerificationResult } from './verification-bench.js'
import { HEARTBEAT_PATH } from '../../shared/protocol/heartbeat.js'

export interface HubBenchSettings {
  quick: boolean
  runs: number
  /** Devices enrolled over HTTP that send the heartbeats. */
  devices: number
  heartbeatsPerRun: number
  loadGenerators: number
  /** Requests in flight per load generator. */
  concurrency: number
  /** Devices registered (directly) for the fleet-list measurement. */
  fleetDevices: number
  fleetQueries: number
  verifications: number
}

export const defaultHubBenchSettings: HubBenchSettings = {
  quick: false,
  runs: 3,
  devices: 500,
  heartbeatsPerRun: 10_000,
  loadGenerators: 2,
  concurrency: 16,
  fleetDevices: 10_000,
  fleetQueries: 300,
  verifications: 20_000,
}

export const quickHubBenchSettings: Partial<HubBenchSettings> = { quick: true, runs: 1, devices: 20, heartbeatsPerRun: 1_000, fleetDevices: 500, fleetQueries: 50, verifications: 1_000 }

export type SystemId = 'hub' | 'hub-plain-http' | 'plain-full' | 'plain-normal'

export const systemNames: Record<SystemId, string> = {
  hub: 'cloudos hub, HTTPS (signed, group commit, synchronous=FULL)',
  'hub-plain-http': 'cloudos hub --insecure-http (same, plain HTTP)',
  'plain-full': 'plain fastify + SQLite, no auth, synchronous=FULL',
  'plain-normal': 'plain fastify + SQLite, no auth, synchronous=NORMAL',
}

export interface HeartbeatRun extends LatencySummary {
  heartbeatsPerSecond: number
  ok: number
  failed: number
  firstError: string | null
  seconds: number
}

export interface SystemResult {
  runs: HeartbeatRun[]
  median: { heartbeatsPerSecond: number; p50Ms: number; p99Ms: number }
  fleetList: LatencySummary[]
  fleetListMedian: { p50Ms: number; p99Ms: number }
}

export interface HubBenchReport {
  machine: MachineFacts
  settings: HubBenchSettings
  setupSeconds: { init: number; fleetRegistration: number; enrolment: number }
  systems: Record<SystemId, SystemResult>
  verification: VerificationResult
  ratios: {
    heartbeatsVsPlainFull: number
    heartbeatsVsPlainNormal: number
    fleetListP99VsPlain: number
    /** HTTPS hub / plain-HTTP hub, heartbeats per second (1.0 = TLS costs nothing). */
    tlsHeartbeatsVsPlainHttp: number
    /** HTTPS hub / plain-HTTP hub, heartbeat p99. */
    tlsP99VsPlainHttp: number
  }
  targets: { heartbeatsPerSecond: number; heartbeatP99Ms: number; fleetListP99Ms: number }
  pass: { heartbeatsPerSecond: boolean; heartbeatP99Ms: boolean; fleetListP99Ms: boolean }
}

export interface HubBenchHooks {
  onNotice?: (message: string) => void
  onRun?: (system: SystemId, run: number, result: HeartbeatRun) => void
}

/** One measured run: `loadGenerators` processes, the devices split between them, all started together. */
async function heartbeatRun(settings: HubBenchSettings, reaper: ChildReaper, baseUrl: string, pathTemplate: string, devices: BenchDevice[], caPem: string | undefined): Promise<HeartbeatRun> {
  const generators = Array.from({ length: settings.loadGenerators }, () => forkBenchModule(new URL('./heartbeat-load-main.js', import.meta.url), reaper))
  try {
    const share = Math.ceil(devices.length / generators.length)
    const perGenerator = Math.ceil(settings.heartbeatsPerRun / generators.length)
    const ready = generators.map((child, i) => {
      const waiting = waitForMessage<FromLoadGenerator, Extract<FromLoadGenerator, { type: 'ready' }>>(child, (m): m is Extract<FromLoadGenerator, { type: 'ready' }> => m.type === 'ready', 'load generator', 300_000)
      sendToChild(child, { type: 'job', job: { baseUrl, pathTemplate, devices: devices.slice(i * share, (i + 1) * share), requests: perGenerator, concurrency: settings.concurrency, ...(caPem === undefined ? {} : { caPem }) } })
      return waiting
    })
    await Promise.all(ready)
    const done = generators.map((child) =>
      waitForMessage<FromLoadGenerator, Extract<FromLoadGenerator, { type: 'done' }>>(child, (m): m is Extract<FromLoadGenerator, { type: 'done' }> => m.type === 'done', 'load generator', 600_000),
    )
    for (const child of generators) sendToChild(child, { type: 'go' })
    const outcomes: LoadOutcome[] = (await Promise.all(done)).map((m) => m.outcome)
    const ok = outcomes.reduce((n, o) => n + o.ok, 0)
    const seconds = Math.max(...outcomes.map((o) => o.seconds))
    return {
      heartbeatsPerSecond: Math.round(ok / seconds),
      ok,
      failed: outcomes.reduce((n, o) => n + o.failed, 0),
      firstError: outcomes.find((o) => o.firstError !== null)?.firstError ?? null,
      seconds: Math.round(seconds * 1000) / 1000,
      ...summariseLatencies(outcomes.flatMap((o) => o.latenciesMs)),
    }
  } finally {
    await Promise.all(generators.map((child) => exitChild(child)))
  }
}

/** `GET /v1/devices?limit=100`, one at a time on a kept-alive connection, after 10 unmeasured warm-up calls. */
async function fleetListRun(baseUrl: string, token: string | undefined, queries: number, caPem: string | undefined): Promise<LatencySummary> {
  const url = new URL('/v1/devices?limit=100', baseUrl)
  const tls = url.protocol === 'https:'
  const agent = tls ? new TlsAgent({ keepAlive: true, maxSockets: 1, ca: caPem ?? [] }) : new Agent({ keepAlive: true, maxSockets: 1 })
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = (tls ? tlsRequest : request)(url, { agent, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
        let count = 0
        res.on('data', (chunk: Buffer) => (count += chunk.length))
        res.on('end', () => (res.statusCode === 200 && count > 0 ? resolve() : reject(new Error(`fleet list answered ${res.statusCode}`))))
      })
      req.on('error', reject)
      req.end()
    })
  try {
    for (let i = 0; i < 10; i++) await once()
    const latencies: number[] = []
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now()
      await once()
      latencies.push(performance.now() - t0)
    }
    return summariseLatencies(latencies)
  } finally {
    agent.destroy()
  }
}

async function startPlainServer(reaper: ChildReaper, dbPath: string, synchronous: 'FULL' | 'NORMAL'): Promise<{ child: ChildProcess; url: string }> {
  const child = forkBenchModule(new URL('./plain-heartbeat-server-main.js', import.meta.url), reaper)
  const ready = waitForMessage<FromPlainServer, Extract<FromPlainServer, { type: 'ready' }>>(child, (m): m is Extract<FromPlainServer, { type: 'ready' }> => m.type === 'ready', 'plain server', 30_000)
  sendToChild(child, { type: 'job', job: { dbPath, synchronous } })
  return { child, url: (await ready).url }
}

const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100

/**
 * `cloudos bench hub`: a real hub process (bootstrapped in a temp dir) with
 * enrolled devices and a registered fleet, heartbeats driven by separate
 * load-generator processes over loopback, against a plain fastify + SQLite
 * app without authentication on a copy of the same database; interleaved
 * runs, medians reported.
 */
export async function runHubBench(settings: HubBenchSettings, hooks: HubBenchHooks = {}): Promise<HubBenchReport> {
  const notice = hooks.onNotice ?? (() => {})
  const machine = machineFacts()
  const session = new BenchSession('cloudos-bench-hub-')
  const { reaper, workDir: tmp } = session
  try {
    const dataDir = join(tmp, 'hub')
    let t = performance.now()
    const hub = await initBenchHub(dataDir)
    const init = seconds(t)
    t = performance.now()
    notice(`registering ${settings.fleetDevices.toLocaleString('en-US')} fleet devices through the repository`)
    await registerFleetDirectly(dataDir, settings.fleetDevices)
    const fleetRegistration = seconds(t)
    let hubProcess = await startHubProcess(dataDir, reaper)
    notice(`hub running at ${hubProcess.url} (pid ${hubProcess.child.pid ?? '?'})`)
    t = performance.now()
    const token = await loginAdmin(hubProcess.url, hub)
    const devices = await enrolBenchDevices(hubProcess.url, token, settings.devices, 8, hub.caPem)
    const enrolment = seconds(t)
    notice(`${devices.length} devices enrolled over HTTPS in ${enrolment} s, each with its own Ed25519 key`)
    // The plain-HTTP hub: the same hub on a copy of the same data dir (same devices, same fleet,
    // its own process), started with --insecure-http. Copied while the hub is stopped, so the
    // database copy is consistent; sessions live in the database, so the admin token works on both.
    await stopChild(hubProcess.child)
    const plainHubDir = join(tmp, 'hub-plain-http')
    cpSync(dataDir, plainHubDir, { recursive: true })
    hubProcess = await startHubProcess(dataDir, reaper)
    const plainHub = await startHubProcess(plainHubDir, reaper, { args: ['--insecure-http'] })
    notice(`plain-HTTP hub (same data, --insecure-http) at ${plainHub.url}`)

    // The baselines work on copies of the same database (same devices, same fleet).
    const plainDb = (name: string) => {
      const path = join(tmp, `${name}.db`)
      const source = new Database(join(dataDir, HUB_DB_FILE), { readonly: true })
      return source.backup(path).then(() => {
        source.close()
        return path
      })
    }
    const plainFull = await startPlainServer(reaper, await plainDb('plain-full'), 'FULL')
    const plainNormal = await startPlainServer(reaper, await plainDb('plain-normal'), 'NORMAL')
    const targets: Record<SystemId, { url: string; path: string; devices: BenchDevice[]; token?: string; caPem?: string }> = {
      hub: { url: hubProcess.url, path: HEARTBEAT_PATH, devices, token, caPem: hub.caPem },
      'hub-plain-http': { url: plainHub.url, path: HEARTBEAT_PATH, devices, token },
      'plain-full': { url: plainFull.url, path: '/v1/devices/{deviceId}/heartbeat', devices: devices.map((d) => ({ ...d, privateKeyPem: null })) },
      'plain-normal': { url: plainNormal.url, path: '/v1/devices/{deviceId}/heartbeat', devices: devices.map((d) => ({ ...d, privateKeyPem: null })) },
    }
    const systems = Object.keys(targets) as SystemId[]
    const runs: Record<SystemId, HeartbeatRun[]> = { hub: [], 'hub-plain-http': [], 'plain-full': [], 'plain-normal': [] }
    const fleet: Record<SystemId, LatencySummary[]> = { hub: [], 'hub-plain-http': [], 'plain-full': [], 'plain-normal': [] }
    for (let run = 0; run < settings.runs; run++) {
      // Interleaved: a change in the machine's load hits every system.
      for (const system of systems) {
        const target = targets[system]
        const result = await heartbeatRun(settings, reaper, target.url, target.path, target.devices, target.caPem)
        runs[system].push(result)
        hooks.onRun?.(system, run, result)
        fleet[system].push(await fleetListRun(target.url, target.token, settings.fleetQueries, target.caPem))
      }
    }
    await stopChild(hubProcess.child)
    await stopChild(plainHub.child)
    await exitChild(plainFull.child)
    await exitChild(plainNormal.child)
    const verification = await measureVerification(settings.verifications)

    const summarise = (system: SystemId): SystemResult => ({
      runs: runs[system],
      median: {
        heartbeatsPerSecond: Math.round(median(runs[system].map((r) => r.heartbeatsPerSecond))),
        p50Ms: median(runs[system].map((r) => r.p50Ms)),
        p99Ms: median(runs[system].map((r) => r.p99Ms)),
      },
      fleetList: fleet[system],
      fleetListMedian: { p50Ms: median(fleet[system].map((f) => f.p50Ms)), p99Ms: median(fleet[system].map((f) => f.p99Ms)) },
    })
    const results = { hub: summarise('hub'), 'hub-plain-http': summarise('hub-plain-http'), 'plain-full': summarise('plain-full'), 'plain-normal': summarise('plain-normal') }
    const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 100) / 100)
    const targetsMet = { heartbeatsPerSecond: 5_000, heartbeatP99Ms: 20, fleetListP99Ms: 50 }
    return {
      machine,
      settings,
      setupSeconds: { init, fleetRegistration, enrolment },
      systems: results,
      verification,
      ratios: {
        heartbeatsVsPlainFull: ratio(results.hub.median.heartbeatsPerSecond, results['plain-full'].median.heartbeatsPerSecond),
        heartbeatsVsPlainNormal: ratio(results.hub.median.heartbeatsPerSecond, results['plain-normal'].median.heartbeatsPerSecond),
        fleetListP99VsPlain: ratio(results.hub.fleetListMedian.p99Ms, results['plain-normal'].fleetListMedian.p99Ms),
        tlsHeartbeatsVsPlainHttp: ratio(results.hub.median.heartbeatsPerSecond, results['hub-plain-http'].median.heartbeatsPerSecond),
        tlsP99VsPlainHttp: ratio(results.hub.median.p99Ms, results['hub-plain-http'].median.p99Ms),
      },
      targets: targetsMet,
      pass: {
        heartbeatsPerSecond: results.hub.median.heartbeatsPerSecond >= targetsMet.heartbeatsPerSecond && results.hub.runs.every((r) => r.failed === 0),
        heartbeatP99Ms: results.hub.median.p99Ms < targetsMet.heartbeatP99Ms,
        fleetListP99Ms: results.hub.fleetListMedian.p99Ms < targetsMet.fleetListP99Ms,
      },
    }
  } finally {
    session.close()
  }
}
