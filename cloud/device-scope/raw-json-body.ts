import type { FastifyInstance } from 'fastify'

/**
 * Parses JSON bodies in this (encapsulated) scope while keeping their exact
 * bytes on `request.rawBody`: a device signature covers the body's sha256,
 * so the hub must hash what was sent, not a re-serialisation.
 */
export function keepRawJsonBody(scope: FastifyInstance): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error')
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer
    parseJson(request, (body as Buffer).toString('utf8'), done)
  })
}
