import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { exitChild, forkBenchModule, sendToChild, waitForMessage } from '../processes/child-ipc.js'
import { BenchSession } from '../processes/bench-session.js'
import { stopChild } from '../processes/child-reaper.js'
import { machineFacts, type MachineFacts } from '../measure/machine-facts.js'
import { median } from '../measure/statistics.js'
import { CloudosError } from '../../shared/errors.js'
import { buildBundle } from '../../shared/ota/bundle.js'
import { generateReleaseKey } from '../../shared/ota/release-keys.js'
import { createPrivateKey } from 'node:crypto'
import { enrolBenchDevices, initBenchHub, loginAdmin, startHubProcess } from '../hub/hub-bench-setup.js'
import type { BenchDevice } from '../hub/hub-bench-ipc.js'
import type { EdgeLoadOutcome, FromEdgeLoad, FromPlainBundleServer } from './ota-bench-ipc.js'
import { residentBytes, sampleResidentPeak } from '../measure/process-memory.js'

const MiB = 1024 * 1024

export interface OtaBenchSettings {
  quick: boolean
  runs: number
  /** Simulated edges (each enrolled with its own key). */
  edges: number
  loadGenerators: number
  /** Downloads in flight per load generator. */
  downloadConcurrency: number
  bundleSizesMiB: number[]
  pollMs: number
  /** Range request size of the simulated updater. */
  rangeBytes: number
}

export const defaultOtaBenchSettings: OtaBenchSettings = {
  quick: false,
  runs: 3,
  edges: 100,
  loadGenerators: 2,
  downloadConcurrency: 8,
  bundleSizesMiB: [1, 64],
  pollMs: 500,
  rangeBytes: 16 * MiB,
}

export const quickOtaBenchSettings: Partial<OtaBenchSettings> = { quick: true, runs: 1, edges: 10, bundleSizesMiB: [1, 4], pollMs: 200 }

export type OtaSystemId = 'hub' | 'plain'

export const otaSystemNames: Record<OtaSystemId, string> = {
  hub: 'cloudos hub: rollout, signed polls, streamed bundle with Range',
  plain: 'plain fastify: readFile + send, no auth, no Range, no rollout',
}

export interface OtaRun {
  /** Wall time: rollout start (or go) to every edge done. */
  seconds: number
  /** hub only: rollout createdAt to finishedAt on the hub clock. */
  hubSeconds: number | null
  bytes: number
  megabytesPerSecond: number
  failed: number
  firstError: string | null
  rssBeforeBytes: number | null
  rssPeakBytes: number | null
}

export interface OtaSizeResult {
  bundleBytes: number
  systems: Record<OtaSystemId, { runs: OtaRun[]; median: { seconds: number; megabytesPerSecond: number; rssPeakMiB: number | null; rssGrowthMiB: number | null } }>
  /** plain peak RSS / hub peak RSS. */
  rssPeakRatio: number | null
}

export interface OtaBenchReport {
  machine: MachineFacts
  settings: OtaBenchSettings
  setupSeconds: { bundles: number; enrolment: number; upload: number }
  upload: { bundleBytes: number; seconds: number; hubRssPeakMiB: number | null; hubRssBeforeMiB: number | null }[]
  sizes: OtaSizeResult[]
  /** Peak RSS with the largest bundle minus with the smallest, per system: flat is the target. */
  rssGrowthAcrossSizesMiB: Record<OtaSystemId, number | null>
}

export interface OtaBenchHooks {
  onNotice?: (message: string) => void
  onRun?: (bundleBytes: number, system: OtaSystemId, run: number, result: OtaRun) => void
}

const mib = (bytes: number | null) => (bytes === null ? null : Math.round((bytes / MiB) * 10) / 10)
const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100

async function api<T>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  if (!response.ok) throw new CloudosError('BENCH_ERR_SETUP', `${method} ${path}: ${response.status} ${text.slice(0, 500)}`)
  return JSON.parse(text) as T
}

/** Streams a bundle file to POST /v1/releases (never in memory on this side either). */
export function uploadBundle(baseUrl: string, token: string, path: string): Promise<{ id: string; bundleBytes: number; bundleSha256: string }> {
  const size = statSync(path).size
  return new Promise((resolve, reject) => {
    const req = request(new URL('/v1/releases', baseUrl), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode === 201) resolve(JSON.parse(text) as { id: string; bundleBytes: number; bundleSha256: string })
        else reject(new CloudosError('BENCH_ERR_SETUP', `upload ${path}: ${res.statusCode} ${text.slice(0, 500)}`))
      })
    })
    req.on('error', reject)
    createReadStream(path).pipe(req)
  })
}

export async function buildBenchBundle(dir: string, sizeMiB: number, privateKeyPem: string): Promise<{ path: string; bytes: number; sha256: string }> {
  const source = join(dir, `payload-${sizeMiB}`)
  mkdirSync(source, { recursive: true })
  const file = join(source, 'runtime.bin')
  writeFileSync(file, Buffer.alloc(0))
  for (let written = 0; written < sizeMiB * MiB; written += 8 * MiB) writeFileSync(file, randomBytes(Math.min(8 * MiB, sizeMiB * MiB - written)), { flag: 'a' })
  const path = join(dir, `bench-${sizeMiB}mib.cosb`)
  await buildBundle({
    sourceDir: source,
    outputPath: path,
    name: `bench-runtime-${sizeMiB}mib`,
    version: '2.0.0',
    kind: 'runtime',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    privateKey: createPrivateKey(privateKeyPem),
    compressionLevel: 1,
  })
  rmSync(source, { recursive: true, force: true })
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return { path, bytes: statSync(path).size, sha256: hash.digest('hex') }
}

type Done = Extract<FromEdgeLoad, { type: 'done' }>
const isDone = (m: FromEdgeLoad): m is Done => m.type === 'done'

async function driveGenerators(generators: ChildProcess[], message: object, timeoutMs: number): Promise<EdgeLoadOutcome[]> {
  const done = generators.map((child) => waitForMessage<FromEdgeLoad, Done>(child, isDone, 'edge load generator', timeoutMs))
  for (const child of generators) sendToChild(child, message)
  return (await Promise.all(done)).map((m) => m.outcome)
}

function summarise(outcomes: EdgeLoadOutcome[], wallSeconds: number, hubSeconds: number | null, rssBefore: number | null, rssPeak: number | null): OtaRun {
  const bytes = outcomes.reduce((n, o) => n + o.bytes, 0)
  return {
    seconds: Math.round(wallSeconds * 1000) / 1000,
    hubSeconds,
    bytes,
    megabytesPerSecond: Math.round((bytes / MiB / wallSeconds) * 10) / 10,
    failed: outcomes.reduce((n, o) => n + o.failed, 0),
    firstError: outcomes.find((o) => o.firstError !== null)?.firstError ?? null,
    rssBeforeBytes: rssBefore,
    rssPeakBytes: rssPeak,
  }
}

/**
 * `cloudos bench ota`: a real hub process with `edges` enrolled devices;
 * separate load-generator processes run the simulated edges over loopback.
 * Per bundle size and run: a rollout of the release to every device (one
 * wave, committed is success) timed from creation to the last commit, bytes
 * received, the hub's peak RSS; then the same downloads from a naive plain
 * fastify server that reads the file into memory per request. Runs
 * alternate between the systems; medians reported.
 */
export async function runOtaBench(settings: OtaBenchSettings, hooks: OtaBenchHooks = {}): Promise<OtaBenchReport> {
  const notice = hooks.onNotice ?? (() => {})
  const machine = machineFacts()
  const session = new BenchSession('cloudos-bench-ota-')
  const { reaper, workDir: tmp } = session
  const generators: ChildProcess[] = []
  try {
    let t = performance.now()
    const key = generateReleaseKey()
    const publicKeyPath = join(tmp, 'release.pub.pem')
    writeFileSync(publicKeyPath, key.publicKeyPem)
    const bundles = []
    for (const size of settings.bundleSizesMiB) bundles.push({ sizeMiB: size, ...(await buildBenchBundle(tmp, size, key.privateKeyPem)) })
    const bundleSeconds = seconds(t)
    notice(`built ${bundles.length} signed bundles (${bundles.map((b) => `${mib(b.bytes)} MiB`).join(', ')}) in ${bundleSeconds} s`)

    const dataDir = join(tmp, 'hub')
    const hub = await initBenchHub(dataDir)
    const largest = Math.max(...bundles.map((b) => b.bytes))
    // A full run takes longer than the default 15-minute admin token: one token for the whole benchmark.
    // Plain HTTP on loopback: this measures bundle streaming; `cloudos bench hub` measures what TLS costs.
    const hubProcess = await startHubProcess(dataDir, reaper, { config: { auth: { tokenTtlSeconds: 86_400 }, ota: { rolloutCheckSeconds: 1, maxBundleBytes: Math.max(largest * 2, 1024 * 1024) } }, args: ['--release-key', publicKeyPath, '--insecure-http'] })
    const hubPid = hubProcess.child.pid as number
    notice(`hub running at ${hubProcess.url} (pid ${hubPid})`)
    t = performance.now()
    const token = await loginAdmin(hubProcess.url, hub)
    const devices: BenchDevice[] = await enrolBenchDevices(hubProcess.url, token, settings.edges)
    const enrolment = seconds(t)
    notice(`${devices.length} devices enrolled over HTTP in ${enrolment} s`)

    t = performance.now()
    const upload: OtaBenchReport['upload'] = []
    const releases = []
    for (const bundle of bundles) {
      const before = residentBytes(hubPid)
      const sampler = sampleResidentPeak(hubPid)
      const started = performance.now()
      releases.push(await uploadBundle(hubProcess.url, token, bundle.path))
      upload.push({ bundleBytes: bundle.bytes, seconds: seconds(started), hubRssBeforeMiB: mib(before), hubRssPeakMiB: mib(sampler.stop()) })
    }
    const uploadSeconds = seconds(t)
    notice(`bundles uploaded (streamed, verified) in ${uploadSeconds} s`)

    const plain = forkBenchModule(new URL('./ota-plain-server-main.js', import.meta.url), reaper)
    const plainReady = waitForMessage<FromPlainBundleServer, Extract<FromPlainBundleServer, { type: 'ready' }>>(plain, (m): m is Extract<FromPlainBundleServer, { type: 'ready' }> => m.type === 'ready', 'plain server', 30_000)
    sendToChild(plain, { type: 'job', job: { bundles: Object.fromEntries(bundles.map((b) => [String(b.sizeMiB), b.path])) } })
    const plainUrl = (await plainReady).url
    const plainPid = plain.pid as number

    const share = Math.ceil(devices.length / settings.loadGenerators)
    for (let i = 0; i < settings.loadGenerators; i++) {
      const child = forkBenchModule(new URL('./ota-edge-load-main.js', import.meta.url), reaper)
      generators.push(child)
      const ready = waitForMessage<FromEdgeLoad, Extract<FromEdgeLoad, { type: 'ready' }>>(child, (m): m is Extract<FromEdgeLoad, { type: 'ready' }> => m.type === 'ready', 'edge load generator', 60_000)
      sendToChild(child, { type: 'job', job: { baseUrl: hubProcess.url, devices: devices.slice(i * share, (i + 1) * share), rangeBytes: settings.rangeBytes, downloadConcurrency: settings.downloadConcurrency, pollMs: settings.pollMs } })
      await ready
    }

    const runTimeoutMs = 600_000
    const sizes: OtaSizeResult[] = []
    for (const [index, bundle] of bundles.entries()) {
      const release = releases[index] as { id: string; bundleSha256: string }
      const runs: Record<OtaSystemId, OtaRun[]> = { hub: [], plain: [] }
      for (let run = 0; run < settings.runs; run++) {
        // The hub: a rollout to every device, one wave, committed is success.
        let before = residentBytes(hubPid)
        let sampler = sampleResidentPeak(hubPid)
        let started = performance.now()
        const rollout = await api<{ id: string }>(hubProcess.url, token, 'POST', '/v1/rollouts', { releaseId: release.id, target: {}, waves: [{ percent: 100, healthyAfterSeconds: 0, maxFailureRate: 0 }] })
        let outcomes = await driveGenerators(generators, { type: 'rollout', rolloutId: rollout.id }, runTimeoutMs)
        let wall = (performance.now() - started) / 1000
        let peak = sampler.stop()
        const status = await api<{ state: string; createdAt: string; finishedAt: string | null }>(hubProcess.url, token, 'GET', `/v1/rollouts/${rollout.id}`)
        if (status.state !== 'completed') throw new CloudosError('BENCH_ERR_SETUP', `rollout ${rollout.id} ended ${status.state}, not completed`)
        const hubSeconds = status.finishedAt === null ? null : (Date.parse(status.finishedAt) - Date.parse(status.createdAt)) / 1000
        const hubRun = summarise(outcomes, wall, hubSeconds, before, peak)
        runs.hub.push(hubRun)
        hooks.onRun?.(bundle.bytes, 'hub', run, hubRun)

        // The naive server: the same downloads, no rollout.
        before = residentBytes(plainPid)
        sampler = sampleResidentPeak(plainPid)
        started = performance.now()
        outcomes = await driveGenerators(generators, { type: 'plain', download: { baseUrl: plainUrl, path: `/bundles/${bundle.sizeMiB}`, bytes: bundle.bytes, sha256: bundle.sha256 } }, runTimeoutMs)
        wall = (performance.now() - started) / 1000
        peak = sampler.stop()
        const plainRun = summarise(outcomes, wall, null, before, peak)
        runs.plain.push(plainRun)
        hooks.onRun?.(bundle.bytes, 'plain', run, plainRun)
      }
      const systemResult = (list: OtaRun[]) => {
        const peaks = list.map((r) => r.rssPeakBytes).filter((v): v is number => v !== null)
        const growth = list.flatMap((r) => (r.rssPeakBytes === null || r.rssBeforeBytes === null ? [] : [r.rssPeakBytes - r.rssBeforeBytes]))
        return {
          runs: list,
          median: {
            seconds: median(list.map((r) => r.seconds)),
            megabytesPerSecond: median(list.map((r) => r.megabytesPerSecond)),
            rssPeakMiB: peaks.length === 0 ? null : mib(median(peaks)),
            rssGrowthMiB: growth.length === 0 ? null : mib(median(growth)),
          },
        }
      }
      const hubResult = systemResult(runs.hub)
      const plainResult = systemResult(runs.plain)
      sizes.push({
        bundleBytes: bundle.bytes,
        systems: { hub: hubResult, plain: plainResult },
        rssPeakRatio: hubResult.median.rssPeakMiB === null || plainResult.median.rssPeakMiB === null ? null : Math.round((plainResult.median.rssPeakMiB / hubResult.median.rssPeakMiB) * 100) / 100,
      })
    }
    await stopChild(plain)
    const growthAcross = (system: OtaSystemId) => {
      const first = sizes[0]?.systems[system].median.rssPeakMiB
      const last = sizes[sizes.length - 1]?.systems[system].median.rssPeakMiB
      return first === undefined || last === undefined || first === null || last === null ? null : Math.round((last - first) * 10) / 10
    }
    return {
      machine,
      settings,
      setupSeconds: { bundles: bundleSeconds, enrolment, upload: uploadSeconds },
      upload,
      sizes,
      rssGrowthAcrossSizesMiB: { hub: growthAcross('hub'), plain: growthAcross('plain') },
    }
  } finally {
    await Promise.all(generators.map((child) => exitChild(child)))
    session.close()
  }
}
