import type { AuditScan } from './audit-scan.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

/**
 * The audit chain verified (UC-005: "audit logs tamper-proof with
 * cryptographic signatures"): the hash chain recomputed from the first entry
 * and the signed head checked with the hub public key (cloud/compliance/audit-scan.ts).
 * A failure names its kind and the seq where it shows.
 */
export function auditChainControl(scan: Pick<AuditScan, 'verification' | 'head' | 'headSignatureValid'>): ComplianceControls['auditChain'] {
  const { verification: result, head } = scan
  const findings: Finding[] = result.ok
    ? []
    : [{ subject: 'audit-log', severity: 'critical', message: `audit log ${result.problem.kind} at entry ${result.problem.seq}: ${result.problem.message}` }]
  return {
    id: 'audit-chain',
    title: 'Audit chain verified',
    status: statusOf(findings),
    summary: result.ok ? `${result.entries} entries, chain intact, head (entry ${result.headSeq}) signature valid` : `${result.problem.kind} at entry ${result.problem.seq}`,
    findings,
    verified: result.ok,
    entries: result.entries,
    problem: result.ok ? null : { ...result.problem },
    head: head === undefined ? null : { seq: head.seq, hash: head.hash, signature: head.signature },
    headSignatureValid: scan.headSignatureValid,
  }
}
