import type { UserRecord } from '../accounts/user-repository.js'
import type { AuditEntry } from '../audit/audit-repository.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * MFA on every admin (UC-005: "multi-factor authentication required for all
 * administrative access"). Every account gets a TOTP secret at creation, so
 * the question is whether its owner proved they hold it: `confirmed` once a
 * login passed a TOTP code (the account's last accepted step is recorded),
 * `unconfirmed` while the secret was only handed out, `missing` when the
 * account has no secret at all (edited in storage).
 */
export function adminMfaControl(users: readonly UserRecord[]): ComplianceControls['adminMfa'] {
  const admins = users
    .filter((u) => u.role === 'admin')
    .map((u) => ({ username: u.username, mfa: u.totpSecret.trim() === '' ? ('missing' as const) : u.totpLastStep === null ? ('unconfirmed' as const) : ('confirmed' as const), createdAt: iso(u.createdAt) }))
  const findings: Finding[] = admins
    .filter((a) => a.mfa !== 'confirmed')
    .map((a) => ({
      subject: `user:${a.username}`,
      severity: 'critical',
      message:
        a.mfa === 'missing'
          ? `admin "${a.username}" has no TOTP secret: the account logs in without a second factor`
          : `admin "${a.username}" has never logged in with a TOTP code: MFA is not confirmed for this account`,
    }))
  return {
    id: 'admin-mfa',
    title: 'MFA on every admin',
    status: statusOf(findings),
    summary: `${admins.length - findings.length} of ${admins.length} admins have confirmed TOTP`,
    findings,
    admins,
  }
}

/** The audit actions read as failed authentications, and how each names its source and kind. */
interface FailureRecord {
  source: string
  kind: string
  count: number
  firstAt: number
  lastAt: number
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined)
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0)
const time = (value: unknown, fallback: number): number => {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN
  return Number.isNaN(parsed) ? fallback : parsed
}

/**
 * Reads one audit entry as failed authentications, if it is one:
 * - `auth.failures`: the summary row (one per source per window) with
 *   details {source, kind, count, windowStart, windowEnd};
 * - `auth.login_failed`, `device.auth_failed`, `device.enrol_refused`: one
 *   row per failure, as hubs before the summaries wrote them.
 */
export function failuresIn(entry: AuditEntry): FailureRecord | undefined {
  const d = entry.details
  switch (entry.action) {
    case 'auth.failures':
      return { source: text(d.source) ?? 'unknown', kind: text(d.kind) ?? 'unknown', count: count(d.count), firstAt: time(d.windowStart, entry.ts), lastAt: time(d.windowEnd, entry.ts) }
    case 'auth.login_failed':
      return { source: text(d.ip) ?? `account:${entry.target}`, kind: `login:${text(d.reason) ?? 'unknown'}`, count: 1, firstAt: entry.ts, lastAt: entry.ts }
    case 'device.auth_failed':
      return { source: text(d.ip) ?? `device:${entry.target}`, kind: `device:${text(d.code) ?? 'unknown'}`, count: 1, firstAt: entry.ts, lastAt: entry.ts }
    case 'device.enrol_refused':
      return { source: text(d.ip) ?? 'unknown', kind: `enrol:${text(d.code) ?? 'unknown'}`, count: 1, firstAt: entry.ts, lastAt: entry.ts }
    default:
      return undefined
  }
}

/**
 * Failed authentications per source over [since, until): summary rows and
 * single rows alike (so the control reads hubs from before and after the
 * summaries). A source over `maxPerSource` is a finding.
 */
export function failedLoginsControl(entries: readonly AuditEntry[], since: number, until: number, maxPerSource: number): ComplianceControls['failedLogins'] {
  const bySource = new Map<string, { kinds: Record<string, number>; count: number; firstAt: number; lastAt: number }>()
  for (const entry of entries) {
    if (entry.ts < since || entry.ts >= until) continue
    const failure = failuresIn(entry)
    if (failure === undefined || failure.count === 0) continue
    const summary = bySource.get(failure.source) ?? { kinds: {}, count: 0, firstAt: failure.firstAt, lastAt: failure.lastAt }
    summary.kinds[failure.kind] = (summary.kinds[failure.kind] ?? 0) + failure.count
    summary.count += failure.count
    summary.firstAt = Math.min(summary.firstAt, failure.firstAt)
    summary.lastAt = Math.max(summary.lastAt, failure.lastAt)
    bySource.set(failure.source, summary)
  }
  const sources = [...bySource.entries()]
    .map(([source, s]) => ({ source, kinds: s.kinds, count: s.count, firstAt: iso(s.firstAt), lastAt: iso(s.lastAt) }))
    .sort((a, b) => b.count - a.count || (a.source < b.source ? -1 : 1))
  const findings: Finding[] = sources
    .filter((s) => s.count > maxPerSource)
    .map((s) => ({ subject: `source:${s.source}`, severity: 'warning', message: `${s.count} failed authentications from ${s.source} (more than ${maxPerSource}) between ${s.firstAt} and ${s.lastAt}` }))
  const total = sources.reduce((sum, s) => sum + s.count, 0)
  return {
    id: 'failed-logins',
    title: 'Failed logins',
    status: statusOf(findings),
    summary: `${total} failed authentications from ${sources.length} sources; ${findings.length} over ${maxPerSource}`,
    findings,
    maxPerSource,
    total,
    sources,
  }
}
