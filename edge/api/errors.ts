import type { FastifyError, FastifyInstance } from 'fastify'
import { CloudosError } from '../../shared/errors.js'

/** Every error answers `{code, message, hint}` with a stable code from the catalogue. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | CloudosError, request, reply) => {
    if (error instanceof CloudosError) {
      void reply.status(error.status).send(error.toJSON())
      return
    }
    if (error.validation !== undefined) {
      const err = new CloudosError('API_ERR_INVALID_QUERY', `${error.validationContext ?? 'request'} ${error.message.replace(/^(querystring|params|body) /, '')}`)
      void reply.status(err.status).send(err.toJSON())
      return
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      void reply.status(error.statusCode).send({ code: 'API_ERR_INVALID_QUERY', message: error.message, hint: 'Check the request.' })
      return
    }
    request.log.error({ err: error }, 'unexpected error')
    void reply.status(500).send(new CloudosError('API_ERR_INTERNAL').toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new CloudosError('API_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON())
  })
}
