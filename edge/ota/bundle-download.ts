import { closeSync, createWriteStream, existsSync, fsyncSync, openSync, rmSync, statSync, truncateSync } from 'node:fs'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import { CloudosError, isCloudosError } from '../../shared/errors.js'
import { HUB_PATH_SOURCE } from '../../shared/protocol/identifiers.js'
import type { DeviceCredentials } from '../hub-link/hub-client.js'

const HUB_PATH = new RegExp(HUB_PATH_SOURCE)

/**
 * The URL of a path the hub named, under the hub's base URL. Checked where it
 * is used: plain path segments only, and the URL keeps the hub's origin (an
 * absolute URL or `//host/` would send the device's signed request, and take
 * its bytes, from elsewhere). EDGE_ERR_HUB_ID_INVALID otherwise.
 */
export function hubResourceUrl(hubUrl: string, path: string): URL {
  const base = new URL(hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`)
  const refuse = () => new CloudosError('EDGE_ERR_HUB_ID_INVALID', `the hub named a download path ${JSON.stringify(path.slice(0, 120))} that is not a plain path on the hub: not fetched`, { field: 'downloadPath' })
  if (path.length > 1024 || !HUB_PATH.test(path)) throw refuse()
  const url = new URL(path.slice(1), base)
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) throw refuse()
  return url
}

export interface DownloadOptions {
  hubUrl: string
  credentials: DeviceCredentials
  /** Path on the hub (OtaTarget.release.downloadPath). */
  downloadPath: string
  /** Where the bundle is assembled; a partial file from an earlier attempt is resumed. */
  partPath: string
  /** Size the hub announced: the download never writes more. */
  totalBytes: number
  timeoutMs: number
  /** The pinned hub transport (edge/hub-link/hub-transport.ts), not the global fetch (which trusts every public CA). */
  fetch: typeof fetch
}

/**
 * Downloads a bundle with resume: asks for `Range: bytes=<have>-` when a
 * partial file exists (a 200 answer restarts from zero), appends, and stops
 * with OTA_ERR_BUNDLE_TOO_LARGE as soon as the hub sends more than announced
 * (endless data). The file is fsynced before it is declared complete.
 */
export async function downloadBundle(options: DownloadOptions): Promise<void> {
  let have = existsSync(options.partPath) ? statSync(options.partPath).size : 0
  if (have > options.totalBytes) {
    truncateSync(options.partPath, 0)
    have = 0
  }
  if (have === options.totalBytes) return
  const url = hubResourceUrl(options.hubUrl, options.downloadPath)
  const headers: Record<string, string> = {
    ...signDeviceRequest(options.credentials.privateKey, {
      deviceId: options.credentials.deviceId,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      body: '',
      timestamp: Date.now(),
    }),
  }
  if (have > 0) headers.range = `bytes=${have}-`
  let response: Response
  try {
    response = await options.fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs) })
  } catch (err) {
    throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname}: ${(err as Error).message}`)
  }
  if (response.status === 416 && have > 0) {
    // The hub has nothing past what we hold: start again from zero next time.
    truncateSync(options.partPath, 0)
    throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname} answered 416 for bytes=${have}-: restarting the download`)
  }
  if (response.status !== 200 && response.status !== 206) {
    const text = await response.text().catch(() => '')
    throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname} answered ${response.status}: ${text.slice(0, 200)}`)
  }
  if (response.status === 200) have = 0
  if (response.body === null) throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname}: empty body`)
  let written = have
  let overflowed = false
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length
      if (written > options.totalBytes) {
        overflowed = true
        callback(new CloudosError('OTA_ERR_BUNDLE_TOO_LARGE', `the hub sent more than the ${options.totalBytes} bytes it announced; download stopped`))
        return
      }
      callback(null, chunk)
    },
  })
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), limit, createWriteStream(options.partPath, { flags: have === 0 ? 'w' : 'a' }))
  } catch (err) {
    if (overflowed) {
      // Endless data: what was written is not trusted either. The limit can trip
      // before the write stream has created the file (the first chunk is already
      // too big), so remove rather than truncate: no ENOENT masking the refusal.
      rmSync(options.partPath, { force: true })
      throw new CloudosError('OTA_ERR_BUNDLE_TOO_LARGE', `the hub sent more than the ${options.totalBytes} bytes it announced; download stopped`)
    }
    if (isCloudosError(err)) throw err
    throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname} broke off after ${written} of ${options.totalBytes} bytes: ${(err as Error).message} (resumes next time)`)
  }
  const fd = openSync(options.partPath, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  if (written !== options.totalBytes) {
    throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `GET ${url.pathname} ended after ${written} of ${options.totalBytes} bytes (resumes next time)`)
  }
}
