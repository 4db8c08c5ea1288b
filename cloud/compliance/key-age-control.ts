import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

const DAY_MS = 86_400_000

type KeyEntry = ComplianceControls['keyAge']['keys'][number]

/** A key the hub relies on, with when it was made (null: no date is known). */
export interface DatedKey {
  kind: KeyEntry['kind']
  id: string
  name: string
  createdAt: number | null
  /** Where the date comes from (shown in the report). */
  dated: string
}

/**
 * Key ages and rotation: a key older than `maxAgeDays` is due for rotation
 * and is a finding (a release key and the hub identity: critical, since they
 * sign what devices install and the audit head; a device key: warning).
 * A key without a date is listed but is no finding: there is nothing to
 * measure, and the report says where each date comes from.
 */
export function keyAgeControl(keys: readonly DatedKey[], now: number, maxAgeDays: number): ComplianceControls['keyAge'] {
  const listed: KeyEntry[] = keys.map((k) => ({
    kind: k.kind,
    id: k.id,
    name: k.name,
    createdAt: k.createdAt === null ? null : new Date(k.createdAt).toISOString(),
    ageDays: k.createdAt === null ? null : Math.floor(((now - k.createdAt) / DAY_MS) * 10) / 10,
    dated: k.dated,
  }))
  const findings: Finding[] = listed
    .filter((k) => k.ageDays !== null && k.ageDays > maxAgeDays)
    .map((k) => ({
      subject: `${k.kind}:${k.id}`,
      severity: k.kind === 'device-key' ? 'warning' : 'critical',
      message: `${k.kind} ${k.name} (${k.id}) is ${Math.floor(k.ageDays ?? 0)} days old, older than ${maxAgeDays} days: rotate it`,
    }))
  return {
    id: 'key-age',
    title: 'Key ages and rotation',
    status: statusOf(findings),
    summary: `${listed.length} keys, ${findings.length} older than ${maxAgeDays} days`,
    findings,
    maxAgeDays,
    keys: listed,
  }
}
