import { Type, type Static, type TProperties } from '@sinclair/typebox'

/**
 * The compliance report (UC-005) as `GET /v1/compliance/report?format=json`
 * answers it and `cloudos hub compliance report --format json` writes it.
 * The shape is stable: fields are only added (formatVersion changes if one
 * ever has to go). Documented in docs/hub.md, "Compliance".
 */
export const COMPLIANCE_REPORT_FORMAT_VERSION = 1

export const CONTROL_IDS = ['admin-mfa', 'transport-tls', 'audit-chain', 'key-age', 'device-software', 'refused-config-keys', 'failed-logins'] as const
export type ControlId = (typeof CONTROL_IDS)[number]

export const ControlStatus = Type.Union([Type.Literal('pass'), Type.Literal('fail')], { description: 'fail when the control has at least one finding' })
export type ControlStatus = Static<typeof ControlStatus>

const Severity = Type.Union([Type.Literal('warning'), Type.Literal('critical')])

/** One violation: what breaks the control, and why. `subject` is stable, so the policy alert for it is raised once. */
export const Finding = Type.Object({
  subject: Type.String({ description: 'What breaks the control: user:<name>, device:<id>, hub-identity, release-key:<id>, device-key:<id>, audit-log, transport, source:<address>' }),
  severity: Severity,
  message: Type.String(),
})
export type Finding = Static<typeof Finding>

const IsoTime = Type.String({ format: 'date-time' })
const NullableIso = Type.Union([IsoTime, Type.Null()])

/** Every control: id, title, status, one-line summary, findings; then what the control looked at. */
const control = <I extends ControlId, P extends TProperties>(id: I, facts: P) =>
  Type.Object({
    id: Type.Literal(id),
    title: Type.String(),
    status: ControlStatus,
    summary: Type.String(),
    findings: Type.Array(Finding),
    ...facts,
  })

export const AdminMfaControl = control('admin-mfa', {
  admins: Type.Array(Type.Object({ username: Type.String(), mfa: Type.Union([Type.Literal('confirmed'), Type.Literal('unconfirmed'), Type.Literal('missing')]), createdAt: IsoTime })),
})

export const TransportControl = control('transport-tls', {
  tls: Type.Boolean({ description: 'The hub serves HTTPS' }),
  insecureHttp: Type.Boolean({ description: 'Plain HTTP was allowed explicitly (--insecure-http)' }),
})

export const AuditChainControl = control('audit-chain', {
  verified: Type.Boolean(),
  entries: Type.Integer({ minimum: 0 }),
  problem: Type.Union([Type.Object({ kind: Type.String(), seq: Type.Integer(), message: Type.String() }), Type.Null()], { description: 'The first problem, with the seq where it shows' }),
  head: Type.Union([Type.Object({ seq: Type.Integer(), hash: Type.String(), signature: Type.String() }), Type.Null()], { description: 'The signed head as stored' }),
  headSignatureValid: Type.Union([Type.Boolean(), Type.Null()], { description: 'The head signature verifies with the hub public key (null: no head)' }),
})

export const KeyAgeControl = control('key-age', {
  maxAgeDays: Type.Integer(),
  keys: Type.Array(
    Type.Object({
      kind: Type.Union([Type.Literal('hub-identity'), Type.Literal('release-key'), Type.Literal('device-key')]),
      id: Type.String(),
      name: Type.String(),
      createdAt: NullableIso,
      ageDays: Type.Union([Type.Number(), Type.Null()]),
      dated: Type.String({ description: 'Where the date comes from: hub-identity.json createdAt, the key added-at, the key file modification time, the device enrolment' }),
    }),
  ),
})

export const DeviceSoftwareControl = control('device-software', {
  outdatedAfterDays: Type.Integer(),
  devicesChecked: Type.Integer({ minimum: 0 }),
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      name: Type.String(),
      component: Type.String({ description: 'runtime, firmware or model (a key of the heartbeat versions)' }),
      version: Type.String({ description: 'The version the device reported in its latest heartbeat' }),
      problems: Type.Array(Type.Union([Type.Literal('unsigned'), Type.Literal('expired'), Type.Literal('out-of-date')])),
      expectedVersion: Type.Union([Type.String(), Type.Null()], { description: 'The newer release it should run, when out of date' }),
    }),
  ),
  unmanagedComponents: Type.Array(Type.String(), { description: 'Components devices report but the hub holds no release of: not checked' }),
})

export const RefusedConfigKeysControl = control('refused-config-keys', {
  devices: Type.Array(
    Type.Object({
      deviceId: Type.String(),
      name: Type.String(),
      reportedAt: IsoTime,
      refused: Type.Array(Type.Object({ key: Type.String(), code: Type.String(), reason: Type.String() })),
    }),
  ),
})

export const FailedLoginsControl = control('failed-logins', {
  maxPerSource: Type.Integer(),
  total: Type.Integer({ minimum: 0 }),
  sources: Type.Array(
    Type.Object({
      source: Type.String({ description: 'Client address, or the account name when no address was recorded' }),
      kinds: Type.Record(Type.String(), Type.Integer(), { description: 'Count per kind: login:<reason>, device:<code>, enrolment:<code> (or the bare kind when a summary gives no codes)' }),
      count: Type.Integer({ minimum: 0 }),
      firstAt: IsoTime,
      lastAt: IsoTime,
    }),
  ),
})

export const ComplianceReport = Type.Object(
  {
    formatVersion: Type.Literal(COMPLIANCE_REPORT_FORMAT_VERSION),
    hubId: Type.String(),
    generatedAt: IsoTime,
    period: Type.Object({ since: IsoTime, until: IsoTime }, { description: 'Failed logins are counted over this period; every other control is the state at generatedAt' }),
    status: ControlStatus,
    summary: Type.Array(Type.Object({ id: Type.String(), title: Type.String(), status: ControlStatus, findings: Type.Integer({ minimum: 0 }) })),
    controls: Type.Object({
      adminMfa: AdminMfaControl,
      transportTls: TransportControl,
      auditChain: AuditChainControl,
      keyAge: KeyAgeControl,
      deviceSoftware: DeviceSoftwareControl,
      refusedConfigKeys: RefusedConfigKeysControl,
      failedLogins: FailedLoginsControl,
    }),
  },
  { $id: 'ComplianceReport', title: 'ComplianceReport' },
)
export type ComplianceReport = Static<typeof ComplianceReport>
export type ComplianceControls = ComplianceReport['controls']
export type AnyControl = ComplianceControls[keyof ComplianceControls]

/** Status from findings: a control with a finding fails. */
export const statusOf = (findings: readonly Finding[]): ControlStatus => (findings.length === 0 ? 'pass' : 'fail')
