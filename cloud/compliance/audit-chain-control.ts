import { auditHeadMessage, verifyAuditChain } from '../audit/audit-chain.js'
import type { AuditEntry, SignedAuditHead } from '../audit/audit-repository.js'
import { statusOf, type ComplianceControls, type Finding } from './report-schema.js'

/**
 * The audit chain verified (UC-005: "audit logs tamper-proof with
 * cryptographic signatures"): the hash chain recomputed from the first entry
 * and the signed head checked with the hub public key (cloud/audit/audit-chain.ts).
 * A failure names its kind and the seq where it shows.
 */
export function auditChainControl(
  entries: readonly AuditEntry[],
  head: SignedAuditHead | undefined,
  verifySignature: (message: string, signature: string) => boolean,
): ComplianceControls['auditChain'] {
  const result = verifyAuditChain(entries, head, verifySignature)
  const headSignatureValid = head === undefined ? null : verifySignature(auditHeadMessage(head), head.signature)
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
    headSignatureValid,
  }
}
