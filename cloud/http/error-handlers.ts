import type { FastifyError, FastifyInstance } from 'fastify'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'

/** Fastify's own 4xx errors mapped to the catalogue, so no answer escapes it. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'HUB_ERR_UNAUTHENTICATED'
    case 403:
      return 'HUB_ERR_FORBIDDEN'
    case 404:
      return 'HUB_ERR_NOT_FOUND'
    case 413:
      return 'HUB_ERR_BODY_TOO_LARGE'
    case 415:
      return 'HUB_ERR_UNSUPPORTED_MEDIA_TYPE'
    case 429:
      return 'HUB_ERR_RATE_LIMITED'
    default:
      return 'HUB_ERR_INVALID_REQUEST'
  }
}

/** Every hub error answers `{code, message, hint, details?}` with a HUB_ERR_* (or shared) code. */
export function installHubErrorHandlers(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((error: FastifyError | CloudosError, request, reply) => {
    let answer: CloudosError
    if (error instanceof CloudosError) {
      answer = error
    } else if (error.validation !== undefined) {
      answer = new CloudosError('HUB_ERR_INVALID_REQUEST', `${error.validationContext ?? 'request'} ${error.message.replace(/^(querystring|params|body|headers) /, '')}`)
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // A route may set its own limit (telemetry batches: telemetry.maxBatchBytes).
      const limitBytes = request.routeOptions.bodyLimit ?? bodyLimitBytes
      answer = new CloudosError('HUB_ERR_BODY_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`, { limitBytes })
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const code = codeForStatus(error.statusCode)
      answer = new CloudosError(code, code === 'HUB_ERR_RATE_LIMITED' ? `too many requests: ${error.message}` : error.message)
    } else {
      request.log.error({ err: error }, 'unexpected error')
      answer = new CloudosError('HUB_ERR_INTERNAL')
    }
    void reply.status(answer.status).send(answer.toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new CloudosError('HUB_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON())
  })
}
