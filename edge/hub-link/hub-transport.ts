import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { Readable } from 'node:stream'
import { CloudosError } from '../../shared/errors.js'

/**
 * How the edge reaches its hub: a `fetch`-shaped function over node:https
 * that trusts exactly one CA, the one pinned at enrolment.
 *
 * Node 20's global fetch cannot take a CA per request (that needs undici's
 * Agent, which Node does not expose), so the edge's hub calls go through
 * node:https with `ca` set: the CA replaces the system roots, so a
 * certificate from any public CA, or another hub's CA, fails the handshake
 * before a byte of the request is sent. Host names are checked as usual
 * (RFC 6125): a certificate of this hub for another name is refused too.
 */
export interface HubTransportOptions {
  /** The pinned hub CA (PEM). Without it, no https:// endpoint can prove itself. */
  hubCaPem?: string | undefined
  /** Allow http:// (`--insecure-http`): no identity is checked on such a URL. */
  insecureHttp?: boolean
  /** Called once per endpoint that failed to prove the pinned identity (for the refusal counter). */
  onIdentityRefused?: (error: CloudosError) => void
}

export interface HubTransport {
  fetch: typeof fetch
  /** Closes idle keep-alive sockets. */
  close(): void
}

/**
 * TLS handshake failures: the endpoint could not prove the identity. These
 * are the OpenSSL verify results Node reports as `err.code`, the host name
 * check, and a server that does not speak TLS at all (EPROTO).
 */
const IDENTITY_FAILURES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

/** True when `err` (from a request or a TLS socket) means the peer failed to prove the pinned identity. */
export function isIdentityFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' && (IDENTITY_FAILURES.has(code) || code.startsWith('ERR_SSL_'))
}

/** Refuses a plain http:// hub URL unless plain HTTP was allowed on this device. */
export function checkHubUrl(url: string, insecureHttp: boolean): URL {
  const parsed = new URL(url)
  if (parsed.protocol === 'http:' && !insecureHttp) {
    throw new CloudosError('EDGE_ERR_HUB_INSECURE_URL', `the hub URL ${url} is plain HTTP: use the hub's https:// URL, or allow plain HTTP on this device with --insecure-http (hub.insecureHttp)`, { hubUrl: url })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CloudosError('EDGE_ERR_HUB_INSECURE_URL', `the hub URL ${url} is neither https:// nor http://`, { hubUrl: url })
  }
  return parsed
}

export function createHubTransport(options: HubTransportOptions): HubTransport {
  // One keep-alive agent per transport: heartbeats reuse a TLS session instead of a handshake each.
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8, ca: options.hubCaPem ?? [], rejectUnauthorized: true })
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 })
  const hubFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const tls = url.protocol === 'https:'
    if (!tls) checkHubUrl(url.href, options.insecureHttp ?? false)
    const signal = init.signal ?? undefined
    if (signal?.aborted) return Promise.reject(signal.reason)
    const headers = Object.fromEntries(new Headers(init.headers).entries())
    const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string | Uint8Array)
    if (body !== undefined) headers['content-length'] = String(body.length)
    return new Promise<Response>((resolve, reject) => {
      const send = tls ? httpsRequest : httpRequest
      const req = send(url, { method: init.method ?? 'GET', headers, agent: tls ? httpsAgent : httpAgent })
      let response: IncomingMessage | undefined
      const onAbort = () => {
        req.destroy(signal?.reason as Error)
        response?.destroy(signal?.reason as Error)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort)
        if (tls && isIdentityFailure(err)) {
          const refused = new CloudosError(
            'EDGE_ERR_HUB_IDENTITY_MISMATCH',
            `${url.host} did not prove the pinned hub identity (${(err as NodeJS.ErrnoException).code}: ${err.message}); nothing was sent to it`,
            { hubUrl: url.origin, tlsError: (err as NodeJS.ErrnoException).code },
          )
          options.onIdentityRefused?.(refused)
          reject(refused)
          return
        }
        reject(new TypeError('fetch failed', { cause: err }))
      })
      req.on('response', (res) => {
        response = res
        res.once('close', () => signal?.removeEventListener('abort', onAbort))
        const status = res.statusCode ?? 0
        // A Response with these statuses must have no body (Fetch standard, "null body status").
        const nullBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD'
        if (nullBody) res.resume()
        const responseHeaders = new Headers()
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue
          for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one)
        }
        resolve(new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }))
      })
      req.end(body)
    })
  }
  return {
    fetch: hubFetch as typeof fetch,
    close() {
      httpsAgent.destroy()
      httpAgent.destroy()
    },
  }
}
