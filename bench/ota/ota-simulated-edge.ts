import { createHash, type KeyObject } from 'node:crypto'
import { Agent, request } from 'node:http'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import { OTA_REPORT_PATH, OTA_TARGET_PATH, type OtaReport, type OtaTarget } from '../../shared/protocol/ota.js'
import { HEARTBEAT_PATH } from '../../shared/protocol/heartbeat.js'

/**
 * A simulated edge for the OTA benchmark and tests: what the edge updater
 * does on the wire, without installing anything. It polls its target
 * (signed), downloads the bundle in Range requests of `rangeBytes` (as an
 * updater resuming after each chunk would), checks the size and sha256 of
 * the whole file while streaming (nothing is held in memory), and reports
 * the outcome it is told to.
 */
export interface SimulatedEdgeOptions {
  baseUrl: string
  deviceId: string
  privateKey: KeyObject
  agent: Agent
  /** committed (default), or the failure this edge reports after downloading. */
  outcome?: 'committed' | 'rolled-back' | 'failed'
  rangeBytes: number
  /** Sent as runningVersion while not updated. */
  installedVersion?: string
}

export interface DownloadResult {
  bytes: number
  sha256: string
  requests: number
}

interface JsonAnswer {
  status: number
  body: unknown
}

export class SimulatedEdge {
  /** Rollouts this edge has finished (it asks again only for a new one). */
  private readonly handled = new Set<string>()
  bytesReceived = 0

  constructor(private readonly options: SimulatedEdgeOptions) {}

  /** Asks for the target; downloads, verifies and reports if there is a new one. Resolves what happened. */
  async pollOnce(): Promise<'idle' | 'updated' | 'failed'> {
    const answer = await this.signedJson('GET', OTA_TARGET_PATH)
    if (answer.status !== 200) throw new Error(`GET /v1/devices/me/ota answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    const target = (answer.body as OtaTarget).release
    if (target === null || this.handled.has(target.rolloutId)) return 'idle'
    const report = async (state: OtaReport['state'], extra: Partial<OtaReport> = {}) => {
      const body: OtaReport = { rolloutId: target.rolloutId, releaseId: target.releaseId, state, runningVersion: state === 'committed' ? target.version : (this.options.installedVersion ?? '1.0.0'), at: Date.now(), ...extra }
      const sent = await this.signedJson('POST', OTA_REPORT_PATH, body)
      if (sent.status !== 200) throw new Error(`report ${state} answered ${sent.status}: ${JSON.stringify(sent.body)}`)
    }
    await report('downloading')
    const download = await downloadWithRanges(this.options.baseUrl, target.downloadPath, target.bundleBytes, this.options.rangeBytes, this.options.agent, (path, range) =>
      signDeviceRequest(this.options.privateKey, { deviceId: this.options.deviceId, method: 'GET', path, body: '' }),
    )
    this.bytesReceived += download.bytes
    this.handled.add(target.rolloutId)
    if (download.bytes !== target.bundleBytes || download.sha256 !== target.bundleSha256) {
      await report('failed', { code: 'OTA_ERR_DOWNLOAD_FAILED', reason: `got ${download.bytes} bytes with sha256 ${download.sha256}` })
      return 'failed'
    }
    const outcome = this.options.outcome ?? 'committed'
    if (outcome === 'committed') {
      await report('committed')
      return 'updated'
    }
    await report(outcome, { code: 'OTA_ERR_HEALTH_CHECK_FAILED', reason: 'simulated failure after install' })
    return 'failed'
  }

  async heartbeat(): Promise<number> {
    const body = { uptimeSeconds: 60, queueDepth: 0, dbSizeBytes: 1_000_000, readingsPerSecond: 10, rejectedPerSecond: 0, cpuPercent: 5, memoryBytes: 50_000_000, versions: { runtime: process.version } }
    return (await this.signedJson('POST', HEARTBEAT_PATH, body)).status
  }

  private signedJson(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonAnswer> {
    const payload = body === undefined ? '' : JSON.stringify(body)
    const headers: Record<string, string> = signDeviceRequest(this.options.privateKey, { deviceId: this.options.deviceId, method, path, body: payload })
    if (body !== undefined) headers['content-type'] = 'application/json'
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.options.baseUrl), { method, headers, agent: this.options.agent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          try {
            resolve({ status: res.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) })
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text })
          }
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(payload)
    })
  }
}

/**
 * Downloads `path` in Range requests of `rangeBytes` (one plain GET when
 * `rangeBytes` covers the file), hashing as the bytes arrive. `headersFor`
 * gives each request's extra headers (device signature, or none).
 */
export async function downloadWithRanges(
  baseUrl: string,
  path: string,
  totalBytes: number,
  rangeBytes: number,
  agent: Agent,
  headersFor: (path: string, range: string | undefined) => Record<string, string>,
): Promise<DownloadResult> {
  const hash = createHash('sha256')
  let bytes = 0
  let requests = 0
  let etag: string | undefined
  do {
    const range = rangeBytes >= totalBytes ? undefined : `bytes=${bytes}-${Math.min(totalBytes, bytes + rangeBytes) - 1}`
    const headers = { ...headersFor(path, range), ...(range === undefined ? {} : { range }), ...(etag === undefined ? {} : { 'if-range': etag }) }
    requests++
    const received = await new Promise<{ count: number; etag: string | undefined }>((resolve, reject) => {
      const req = request(new URL(path, baseUrl), { headers, agent }, (res) => {
        const expected = range === undefined ? 200 : 206
        if (res.statusCode !== expected) {
          res.resume()
          reject(new Error(`GET ${path}${range === undefined ? '' : ` (${range})`} answered ${res.statusCode}, expected ${expected}`))
          return
        }
        let count = 0
        res.on('data', (chunk: Buffer) => {
          count += chunk.length
          hash.update(chunk)
        })
        res.on('end', () => resolve({ count, etag: typeof res.headers.etag === 'string' ? res.headers.etag : undefined }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    bytes += received.count
    etag ??= received.etag
    if (received.count === 0) break
  } while (bytes < totalBytes)
  return { bytes, sha256: hash.digest('hex'), requests }
}
