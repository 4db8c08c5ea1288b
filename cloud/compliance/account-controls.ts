import type { UserRecord } from '../accounts/user-repository.js'
import type { AuditEntry } from '../audit/audit-repository.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

const iso = (ms: number) => new Date(ms).toISOString()

/** A disabled account cannot log in at all, so it needs no second factor (hubs with account disabling set `disabledAt`). */
const isDisabled = (user: UserRecord) => 'disabledAt' in user && user.disabledAt !== null && user.disabledAt !== undefined

/**
 * MFA on every admin (UC-005: "multi-factor authentication required for all
 * administrative access"). Every account gets a TOTP secret at creation, so
 * the question is whether its owner proved they hold it: `confirmed` once a
 * login passed a TOTP code (the account's last accepted step is recorded),
 * `unconfirmed` while the secret was only handed out, `missing` when the
 * account has no secret at all (edited in storage). Disabled accounts are
 * left out.
 */
export function adminMfaControl(users: readonly UserRecord[]): ComplianceControls['adminMfa'] {
  const admins = users
    .filter((u) => u.role === 'admin' && !isDisabled(u))
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

/** Failed authentications read from one audit entry: from one source, counted per kind. */
interface FailureRecord {
  source: string
  kinds: Record<string, number>
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

/** A summary's per-code counts as kinds (`login:bad_password`); the whole count under its kind when it has none. */
function summaryKinds(kind: string, codes: unknown, total: number): Record<string, number> {
  const kinds: Record<string, number> = {}
  let counted = 0
  if (typeof codes === 'object' && codes !== null && !Array.isArray(codes)) {
    for (const [code, n] of Object.entries(codes as Record<string, unknown>)) {
      const c = Math.min(count(n), total - counted)
      if (c === 0) continue
      kinds[`${kind}:${code}`] = (kinds[`${kind}:${code}`] ?? 0) + c
      counted += c
    }
  }
  if (counted < total) kinds[kind] = total - counted
  return kinds
}

const single = (source: string, kind: string, ts: number): FailureRecord => ({ source, kinds: { [kind]: 1 }, count: 1, firstAt: ts, lastAt: ts })

/**
 * Reads one audit entry as failed authentications, if it is one:
 * - `auth.failures`: the summary row the hub writes per source per window
 *   (cloud/audit/auth-failure-summary.ts), details {source, kind, count,
 *   windowStart, windowEnd, codes};
 * - `auth.login_failed`, `device.auth_failed`, `device.enrol_refused`: one
 *   row per failure, as hubs before the summaries wrote them.
 * Kinds read `login:<reason>`, `device:<code>`, `enrolment:<code>` either way.
 */
export function failuresIn(entry: AuditEntry): FailureRecord | undefined {
  const d = entry.details
  switch (entry.action) {
    case 'auth.failures': {
      const total = count(d.count)
      return { source: text(d.source) ?? (text(entry.target) ?? 'unknown'), kinds: summaryKinds(text(d.kind) ?? 'unknown', d.codes, total), count: total, firstAt: time(d.windowStart, entry.ts), lastAt: time(d.windowEnd, entry.ts) }
    }
    case 'auth.login_failed':
      return single(text(d.ip) ?? `account:${entry.target}`, `login:${text(d.reason) ?? 'unknown'}`, entry.ts)
    case 'device.auth_failed':
      return single(text(d.ip) ?? `device:${entry.target}`, `device:${text(d.code) ?? 'unknown'}`, entry.ts)
    case 'device.enrol_refused':
      return single(text(d.ip) ?? 'unknown', `enrolment:${text(d.code) ?? 'unknown'}`, entry.ts)
    default:
      return undefined
  }
}

/** Distinct sources tallied; later ones share OTHER_SOURCES (memory stays bounded whatever the log holds). */
export const MAX_TALLIED_SOURCES = 10_000
export const OTHER_SOURCES = '(other)'

interface SourceTally {
  kinds: Record<string, number>
  count: number
  firstAt: number
  lastAt: number
}

/**
 * Failed authentications per source over [since, until), fed one audit entry
 * at a time (the paged audit scan): summary rows and single rows alike, so
 * the control reads hubs from before and after the summaries.
 */
export class FailedLoginTally {
  readonly #bySource = new Map<string, SourceTally>()

  constructor(
    private readonly since: number,
    private readonly until: number,
  ) {}

  add(entry: AuditEntry): void {
    if (entry.ts < this.since || entry.ts >= this.until) return
    const failure = failuresIn(entry)
    if (failure === undefined || failure.count === 0) return
    const source = this.#bySource.has(failure.source) || this.#bySource.size < MAX_TALLIED_SOURCES ? failure.source : OTHER_SOURCES
    const tally = this.#bySource.get(source) ?? { kinds: {}, count: 0, firstAt: failure.firstAt, lastAt: failure.lastAt }
    for (const [kind, n] of Object.entries(failure.kinds)) tally.kinds[kind] = (tally.kinds[kind] ?? 0) + n
    tally.count += failure.count
    tally.firstAt = Math.min(tally.firstAt, failure.firstAt)
    tally.lastAt = Math.max(tally.lastAt, failure.lastAt)
    this.#bySource.set(source, tally)
  }

  /** The control: a source over `maxPerSource` failures is a finding. */
  control(maxPerSource: number): ComplianceControls['failedLogins'] {
    const sources = [...this.#bySource.entries()]
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
}

/** The failed-logins control over a list of entries (what FailedLoginTally does during a scan). */
export function failedLoginsControl(entries: readonly AuditEntry[], since: number, until: number, maxPerSource: number): ComplianceControls['failedLogins'] {
  const tally = new FailedLoginTally(since, until)
  for (const entry of entries) tally.add(entry)
  return tally.control(maxPerSource)
}
