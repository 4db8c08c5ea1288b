import type { FastifyRequest } from 'fastify'

/**
 * Bytes of device request bodies being read before their signature is
 * verified, across all requests. The headers are checked before any body is
 * read, but the signature covers the body's sha256, so a request naming a
 * real device with a fresh timestamp and nonce and a forged signature is
 * refused only once its whole body is in. This caps what such requests can
 * hold at once (24 concurrent forged 16 MiB telemetry uploads would be
 * 384 MiB): a request that would go over the budget is refused before its
 * body is read, and the reservation is returned when the signature is checked
 * or the request ends. Bodies up to SMALL_BODY_BYTES (heartbeats, alerts,
 * config sync) are not counted, so a budget kept full by forgeries does not
 * stop devices' everyday requests: they cost no more than any JSON body the
 * hub reads before authentication (http.bodyLimitBytes on admin routes).
 */
export const SMALL_BODY_BYTES = 64 * 1024

export class UnverifiedBodyBudget {
  private inUse = 0
  private readonly held = new WeakMap<FastifyRequest, number>()

  constructor(readonly limitBytes: number) {}

  /** Reserves what this request may send (its Content-Length, or the route's body limit); false when the budget is spent. */
  reserve(request: FastifyRequest, routeBodyLimit: number): boolean {
    const declared = Number(request.headers['content-length'] ?? Number.NaN)
    const chunked = request.headers['transfer-encoding'] !== undefined
    const bytes = chunked || Number.isNaN(declared) ? (request.method === 'GET' || request.method === 'HEAD' ? 0 : routeBodyLimit) : Math.min(declared, routeBodyLimit)
    if (bytes <= SMALL_BODY_BYTES) return true
    if (this.inUse + bytes > this.limitBytes && this.inUse > 0) return false
    this.inUse += bytes
    this.held.set(request, bytes)
    return true
  }

  /** Returns this request's reservation (idempotent). */
  release(request: FastifyRequest): void {
    const bytes = this.held.get(request)
    if (bytes === undefined) return
    this.held.delete(request)
    this.inUse -= bytes
  }

  get bytesInUse(): number {
    return this.inUse
  }
}
