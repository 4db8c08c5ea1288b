import { createReadStream, statSync } from 'node:fs'
import { request } from 'node:http'
import { request as requestTls } from 'node:https'
import { CloudosError, errorCatalogue, type ErrorCode } from '../shared/errors.js'
import { adminFetch } from './hub-ca.js'

/**
 * A small admin client of the hub's OTA API for the CLI (`cloudos hub release
 * ...`, `cloudos hub rollout ...`): bearer token, JSON in and out, and a
 * streamed bundle upload. A hub error keeps its code. With `caPem` (the hub
 * CA, `--ca` / `--hub-data-dir`) it trusts that CA only.
 */
export class HubAdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly caPem?: string,
  ) {}

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response
    const send = await adminFetch(this.caPem)
    try {
      response = await send(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (err) {
      throw new CloudosError('EDGE_ERR_HUB_UNREACHABLE', `${this.baseUrl}: ${(err as Error).message}`)
    }
    return answer<T>(response.status, await response.text())
  }

  /** Streams the bundle file to POST /v1/releases. */
  upload<T>(file: string): Promise<T> {
    let size: number
    try {
      size = statSync(file).size
    } catch (err) {
      return Promise.reject(new CloudosError('CLI_ERR_INVALID_FLAG', `cannot read ${file}: ${(err as Error).message}`))
    }
    const url = new URL('/v1/releases', this.baseUrl)
    const send = url.protocol === 'https:' ? requestTls : request
    return new Promise((resolve, reject) => {
      const req = send(url, { ...(this.caPem === undefined ? {} : { ca: this.caPem }), method: 'POST', headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          try {
            resolve(answer<T>(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
          } catch (err) {
            reject(err)
          }
        })
      })
      req.on('error', (err) => reject(new CloudosError('EDGE_ERR_HUB_UNREACHABLE', `${this.baseUrl}: ${err.message}`)))
      createReadStream(file).pipe(req)
    })
  }
}

function answer<T>(status: number, text: string): T {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  if (status >= 200 && status < 300) return body as T
  const error = body as { code?: string; message?: string; details?: Record<string, unknown> }
  const code: ErrorCode = typeof error.code === 'string' && error.code in errorCatalogue ? (error.code as ErrorCode) : 'EDGE_ERR_HUB_REQUEST_FAILED'
  throw new CloudosError(code, `the hub answered ${status}: ${error.message ?? text.slice(0, 300)}`, error.details)
}
