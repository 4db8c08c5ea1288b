import { InvalidArgumentError, type Command } from 'commander'
import { resolve } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { CloudosError } from '../../shared/errors.js'
import { clientOf, withConnection, type ConnectionFlags } from './hub-ota.js'
import type { HubAlertView } from '../../cloud/alerts/hub-alert-routes.js'

interface ReportFlags extends ConnectionFlags {
  since?: string
  format: 'json' | 'html'
  out?: string
}

function formatFlag(value: string): 'json' | 'html' {
  if (value !== 'json' && value !== 'html') throw new InvalidArgumentError(`--format: "${value}" is not json or html.`)
  return value
}

function sinceFlag(value: string): string {
  // The hub checks it too (HUB_ERR_INVALID_REQUEST); refusing here saves a round trip and names the flag.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError(`--since: "${value}" is not a date (YYYY-MM-DD) or an ISO 8601 time with a zone (2026-12-01T08:00:00Z).`)
  }
  return value
}

interface ReportSummary {
  status: 'pass' | 'fail'
  summary: { id: string; title: string; status: 'pass' | 'fail'; findings: number }[]
}

const summaryLines = (report: ReportSummary) =>
  [`compliance: ${report.status.toUpperCase()}`, ...report.summary.map((c) => `  ${c.status === 'pass' ? 'pass' : 'FAIL'}  ${c.title}${c.findings > 0 ? ` (${c.findings})` : ''}`)].join('\n')

/** `cloudos hub compliance report`: the hub's compliance report (GET /v1/compliance/report) as JSON or one HTML page. */
export function registerHubComplianceCommands(hub: Command): void {
  const compliance = hub.command('compliance').description('compliance (UC-005) on a running hub (admin token)')
  withConnection(
    compliance
      .command('report')
      .description('MFA on admins, TLS, audit chain and signed head, key ages, device software, refused config keys, failed logins: one report')
      .option('--since <date>', 'count failed logins from this date (YYYY-MM-DD) or time (ISO 8601); default: the hub\'s compliance.failedLoginWindowHours', sinceFlag)
      .option('--format <format>', 'json (the documented shape) or html (one self-contained page)', formatFlag, 'json')
      .option('--out <file>', 'write the report to this file (default: standard output)'),
  ).action(async (flags: ReportFlags) => {
    const query = new URLSearchParams({ format: flags.format, ...(flags.since === undefined ? {} : { since: flags.since }) })
    // The client parses JSON answers and hands any other body back as text: the HTML page arrives as a string.
    const answer = await (await clientOf(flags)).json<unknown>('GET', `/v1/compliance/report?${query.toString()}`)
    const text = flags.format === 'html' ? answer : `${JSON.stringify(answer, null, 2)}\n`
    if (typeof text !== 'string') throw new CloudosError('EDGE_ERR_HUB_REQUEST_FAILED', 'the hub did not answer the HTML report as text')
    if (flags.out === undefined) {
      process.stdout.write(text)
      return
    }
    const out = resolve(flags.out)
    writeFileAtomic(out, text, 0o600)
    const status = flags.format === 'json' ? `${summaryLines(answer as ReportSummary)}\n` : ''
    process.stdout.write(`${status}report written to ${out} (${flags.format}, ${Buffer.byteLength(text)} bytes)\n`)
  })

  withConnection(
    compliance
      .command('alerts')
      .description('policy alerts: one per violation, raised by the hub\'s periodic check (open ones unless --all)')
      .option('--all', 'also the cleared ones'),
  ).action(async (flags: ConnectionFlags & { all?: boolean }) => {
    const listed = await (await clientOf(flags)).json<{ alerts: HubAlertView[] }>('GET', `/v1/hub-alerts?source=policy&limit=1000${flags.all === true ? '' : '&open=true'}`)
    const line = (a: HubAlertView) => `${a.raisedAt} ${a.severity.padEnd(8)} ${a.kind} ${a.subject}: ${a.message}${a.open ? '' : ` (cleared ${a.clearedAt ?? ''})`}`
    process.stdout.write(flags.json === true ? `${JSON.stringify(listed, null, 2)}\n` : `${listed.alerts.map(line).join('\n') || 'no policy alerts'}\n`)
  })
}
