import type { KeyObject } from 'node:crypto'
import type { Static, TSchema } from '@sinclair/typebox'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import { CloudosError, isCloudosError } from '../../shared/errors.js'
import type { AnyExchange } from '../../shared/protocol/exchange.js'
import { checkAnswer } from './answer-check.js'
import { checkHubUrl, createHubTransport, type HubTransport } from './hub-transport.js'

/** Why a hub request did not give a usable answer. */
export type HubFailureKind =
  /** Connection refused, DNS, reset, timeout: retry with backoff. */
  | 'unreachable'
  /** The hub answered 5xx, or 429 (its rate limit, HUB_ERR_RATE_LIMITED): retry with backoff. */
  | 'server'
  /** The hub answered another 4xx: retrying the same request will not help. */
  | 'refused'
  /**
   * The endpoint could not prove the pinned hub identity (TLS): nothing was
   * sent. Retried with backoff (the real hub may be back), never followed.
   */
  | 'identity'

/** A failed hub request, with the hub's `{code, message}` when it answered one. */
export class HubRequestError extends Error {
  override readonly name = 'HubRequestError'
  constructor(
    readonly kind: HubFailureKind,
    message: string,
    readonly status: number | undefined = undefined,
    /** The hub's error code (HUB_ERR_*), when it sent one. */
    readonly hubCode: string | undefined = undefined,
    readonly body: unknown = undefined,
  ) {
    super(message)
  }

  /** Worth retrying later with backoff. */
  get retryable(): boolean {
    return this.kind !== 'refused'
  }
}

/** The device credentials a signed request needs. */
export interface DeviceCredentials {
  deviceId: string
  privateKey: KeyObject
}

export interface HubClientOptions {
  /** Base URL of the hub, e.g. https://hub.example:8080 (a path prefix is kept). */
  url: string
  timeoutMs: number
  /** Signs requests when set; enrolment is the one unsigned call. */
  credentials?: DeviceCredentials
  /** The hub CA pinned at enrolment (PEM): an https:// endpoint must chain to it, and to nothing else. */
  hubCaPem?: string | undefined
  /** Allow an http:// URL (`--insecure-http`); refused with EDGE_ERR_HUB_INSECURE_URL otherwise. */
  insecureHttp?: boolean
  /** Counts endpoints that failed to prove the identity (cloudos_edge_hub_identity_refusals_total). */
  onIdentityRefused?: (error: CloudosError) => void
  /** Replaces the pinned transport (tests that record what crosses the wire wrap `createHubTransport`). */
  fetch?: typeof fetch
  clock?: () => number
}

export interface HubResponse<T> {
  status: number
  body: T
}

/**
 * A small JSON client for the hub's device routes. Every request with
 * credentials is signed with shared/device-auth over the exact body bytes it
 * sends; every request has a timeout. Failures are HubRequestErrors whose
 * `kind` says whether a retry can help.
 */
export interface HubRequestOptions {
  timeoutMs?: number
  signal?: AbortSignal
}

export interface ExchangeOptions extends HubRequestOptions {
  /** Appended to the exchange's path as a query string (values are encoded). */
  query?: Record<string, string | number>
}

/** What an exchange sends: its JSON body, codec bytes when it has no JSON body schema, nothing for a GET. */
export type ExchangeSend<E extends AnyExchange> = E['body'] extends TSchema ? Static<E['body']> : Buffer | undefined

export class HubClient {
  readonly #base: URL
  readonly #options: HubClientOptions
  readonly #fetch: typeof fetch
  readonly #transport: HubTransport | undefined
  readonly #closed = new AbortController()

  constructor(options: HubClientOptions) {
    checkHubUrl(options.url, options.insecureHttp ?? false)
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`)
    this.#options = options
    this.#transport = options.fetch === undefined ? createHubTransport(options) : undefined
    this.#fetch = options.fetch ?? (this.#transport as HubTransport).fetch
  }

  /** The transport this client sends with (the OTA bundle download streams through the same pinned connection rules). */
  get fetch(): typeof fetch {
    return this.#fetch
  }

  /** Abandons the requests in flight (they fail as 'unreachable') and every later one. */
  close(): void {
    this.#closed.abort()
    this.#transport?.close()
  }

  get url(): string {
    return this.#base.href.replace(/\/$/, '')
  }

  get(path: string): Promise<HubResponse<unknown>> {
    return this.request('GET', path)
  }

  post(path: string, body: unknown): Promise<HubResponse<unknown>> {
    return this.request('POST', path, body)
  }

  /**
   * One exchange of the wire contract (shared/protocol): sends `body` (JSON,
   * or bytes for an exchange without a JSON body schema) and resolves with the
   * answer once it matches the exchange's answer schema. An answer that does
   * not match is EDGE_ERR_HUB_ANSWER_INVALID (a CloudosError, which the link
   * treats like a 5xx: retried with backoff), never a half-read object.
   */
  async exchange<E extends AnyExchange>(exchange: E, body: ExchangeSend<E>, options: ExchangeOptions = {}): Promise<Static<E['answer']>> {
    const query = options.query === undefined ? '' : `?${new URLSearchParams(Object.entries(options.query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    const path = `${exchange.path}${query}`
    const sent = Buffer.isBuffer(body) ? { bytes: body, contentType: 'application/octet-stream' } : body === undefined ? undefined : { bytes: JSON.stringify(body), contentType: 'application/json' }
    const response = await this.#send(exchange.method, path, sent, options)
    const problems = checkAnswer(exchange.answer, response.body)
    if (problems !== undefined) {
      throw new CloudosError('EDGE_ERR_HUB_ANSWER_INVALID', `the hub's answer to ${exchange.name} (${exchange.method} ${exchange.path}, HTTP ${response.status}) does not match the wire contract: ${problems}`, {
        exchange: exchange.name,
        path: exchange.path,
        status: response.status,
      })
    }
    return response.body as Static<E['answer']>
  }

  /**
   * Sends one request with a JSON body; resolves on 2xx, rejects with a HubRequestError otherwise.
   * `options.timeoutMs` replaces the client's timeout (a long-poll waits longer);
   * `options.signal` abandons the request (it fails as 'unreachable').
   */
  request(method: 'GET' | 'POST', path: string, body?: unknown, options: HubRequestOptions = {}): Promise<HubResponse<unknown>> {
    return this.#send(method, path, body === undefined ? undefined : { bytes: JSON.stringify(body), contentType: 'application/json' }, options)
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    body: { bytes: string | Buffer; contentType: string } | undefined,
    options: HubRequestOptions = {},
  ): Promise<HubResponse<unknown>> {
    const url = new URL(path.replace(/^\//, ''), this.#base)
    const payload = body === undefined ? '' : body.bytes
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = body.contentType
    const credentials = this.#options.credentials
    if (credentials !== undefined) {
      // The hub verifies the path as it receives it: path plus query.
      Object.assign(
        headers,
        signDeviceRequest(credentials.privateKey, {
          deviceId: credentials.deviceId,
          method,
          path: `${url.pathname}${url.search}`,
          body: payload,
          timestamp: (this.#options.clock ?? Date.now)(),
        }),
      )
    }
    let response: Response
    let text: string
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: payload }),
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? this.#options.timeoutMs), this.#closed.signal, ...(options.signal ? [options.signal] : [])]),
      })
      text = await response.text()
    } catch (err) {
      if (isCloudosError(err) && err.code === 'EDGE_ERR_HUB_IDENTITY_MISMATCH') {
        throw new HubRequestError('identity', `${method} ${url.pathname}: EDGE_ERR_HUB_IDENTITY_MISMATCH: ${err.message}`)
      }
      throw new HubRequestError('unreachable', `${method} ${url.href}: ${describeNetworkError(err, options.timeoutMs ?? this.#options.timeoutMs)}`)
    }
    let parsed: unknown = text
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      // Not JSON (a proxy's error page, say): kept as text.
    }
    if (response.ok) return { status: response.status, body: parsed }
    const hubError = parsed !== null && typeof parsed === 'object' ? (parsed as { code?: unknown; message?: unknown }) : {}
    const hubCode = typeof hubError.code === 'string' ? hubError.code : undefined
    const message = typeof hubError.message === 'string' ? hubError.message : String(text).slice(0, 200)
    throw new HubRequestError(
      response.status >= 500 || response.status === 429 ? 'server' : 'refused',
      `${method} ${url.pathname} answered ${response.status}${hubCode === undefined ? '' : ` ${hubCode}`}: ${message}`,
      response.status,
      hubCode,
      parsed,
    )
  }
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`
  if (e.name === 'AbortError') return 'abandoned: the client was closed'
  const cause = e.cause
  if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`
  return cause?.message === undefined ? e.message : `${e.message}: ${cause.message}`
}
