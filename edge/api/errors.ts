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
      const err = new CloudosError('API_ERR_INVALID_QUERY', describeValidationError(error.validationContext ?? 'request', error.validation as unknown as AjvIssue[]))
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

interface AjvIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

/** "querystring parameter \"limit\" must be <= 100000", naming the parameter and what is allowed. */
function describeValidationError(context: string, issues: AjvIssue[]): string {
  const issue = issues[0]
  if (issue === undefined) return `invalid ${context}`
  const where = context === 'querystring' ? 'query parameter' : context
  const name = issue.instancePath.replace(/^\//, '').replace(/\//g, '.')
  switch (issue.keyword) {
    case 'additionalProperties':
      return `unknown ${where} "${String(issue.params.additionalProperty)}"`
    case 'required':
      return `missing ${where} "${String(issue.params.missingProperty)}"`
    case 'enum':
      return `${where} "${name}" must be one of ${JSON.stringify(issue.params.allowedValues)}`
    case 'const': {
      // A union of literals fails once per literal: gather them all.
      const allowed = issues.filter((i) => i.keyword === 'const' && i.instancePath === issue.instancePath).map((i) => i.params.allowedValue)
      return `${where} "${name}" must be one of ${JSON.stringify(allowed)}`
    }
    default:
      return `${where} "${name}" ${issue.message ?? 'is invalid'}`
  }
}
