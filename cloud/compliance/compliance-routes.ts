import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { CloudosError } from '../../shared/errors.js'
import { bearerSecurity, responses } from '../http/schemas.js'
import type { HubRouteOptions } from '../http/route-options.js'
import { renderHtmlReport } from './html-report.js'
import { ComplianceReport } from './report-schema.js'

const ReportQuery = Type.Object(
  {
    since: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'Count failed logins from this date (YYYY-MM-DD, UTC midnight) or time (ISO 8601); default: compliance.failedLoginWindowHours ago',
      }),
    ),
    format: Type.Union([Type.Literal('json'), Type.Literal('html')], { default: 'json', description: 'json: the documented ComplianceReport; html: one self-contained page' }),
  },
  { additionalProperties: false },
)

const DATE_OR_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** `since` as epoch ms: a date (UTC midnight) or an ISO 8601 time with its zone; anything else is a coded 400. */
export function parseSince(since: string | undefined): number | undefined {
  if (since === undefined) return undefined
  const at = DATE_OR_TIME.test(since) ? Date.parse(since) : Number.NaN
  if (Number.isNaN(at)) {
    throw new CloudosError('HUB_ERR_INVALID_REQUEST', `since: "${since}" is not a date (YYYY-MM-DD) or an ISO 8601 time with a zone (2026-12-01T08:00:00Z)`)
  }
  return at
}

/** The compliance report (UC-005), for admins: JSON (ComplianceReport) or HTML. */
export const complianceRoutes: FastifyPluginAsync<HubRouteOptions> = async (app, { context, guards }) => {
  app.addSchema(ComplianceReport)
  app.get<{ Querystring: Static<typeof ReportQuery> }>(
    '/v1/compliance/report',
    {
      onRequest: guards.adminOnly,
      schema: {
        tags: ['compliance'],
        summary: 'Compliance report: MFA on admins, TLS, audit chain and signed head, key ages, device software, refused config keys, failed logins',
        security: bearerSecurity,
        querystring: ReportQuery,
        response: responses({
          200: {
            description: 'The report: JSON by default, one self-contained HTML page with format=html',
            content: {
              'application/json': { schema: Type.Ref('ComplianceReport') },
              'text/html': { schema: Type.String() },
            },
          } as never,
        }),
      },
    },
    async (request, reply) => {
      const report = await context.compliance.report({ since: parseSince(request.query.since) })
      if (request.query.format === 'html') {
        // The page carries its own CSP too; this keeps a browser from running anything if it is ever served as is.
        return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(renderHtmlReport(report))
      }
      return reply.type('application/json; charset=utf-8').send(report)
    },
  )
}
