import { auditHeadMessage, GENESIS_HASH, hashAuditEntry, type AuditProblem, type AuditVerification } from '../audit/audit-chain.js'
import type { AuditEntry, AuditRepository, SignedAuditHead } from '../audit/audit-repository.js'

/** Entries read and verified per query: the memory bound, and what sets the longest event-loop stall (about 100-140 ms on a loaded 2-core machine, docs/hub.md). */
export const AUDIT_PAGE = 500

export interface AuditScan {
  verification: AuditVerification
  head: SignedAuditHead | undefined
  /** The head's signature verifies with the hub public key (null: no head). */
  headSignatureValid: boolean | null
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Verifies the audit log page by page (the checks of cloud/audit/audit-chain.ts:
 * every entry's content hash, each link to its predecessor, gapless seqs, and
 * the signed head against the last entry), keeping only the failed-login
 * entries of the period. Unlike `verifyAuditChain` over `all()`, memory is
 * one page and the event loop is given back between pages: a full check of
 * 100k entries held it for ~5 s in one piece (measured here), which the policy evaluator
 * cannot do every minute beside heartbeats. A moved entry shows as a broken
 * link ('removed'); `cloudos hub audit verify` names it 'reordered'.
 */
export async function scanAuditLog(
  repository: AuditRepository,
  verifySignature: (message: string, signature: string) => boolean,
  onEntry: (entry: AuditEntry) => void = () => {},
): Promise<AuditScan> {
  let problem: AuditProblem | undefined
  let last: AuditEntry | undefined
  let count = 0
  const fail = (kind: AuditProblem['kind'], seq: number, message: string) => {
    problem ??= { kind, seq, message }
  }
  const readOn = async () => {
    for (;;) {
      const page = await repository.list({ afterSeq: last?.seq ?? 0, limit: AUDIT_PAGE })
      for (const entry of page) {
        if (problem === undefined) {
          const expectedSeq = count + 1
          if (hashAuditEntry(entry) !== entry.hash) fail('altered', entry.seq, `entry ${entry.seq} (${entry.action}) was altered: its content no longer matches its hash`)
          else if (entry.prevHash !== (last?.hash ?? GENESIS_HASH)) fail('removed', expectedSeq, `the chain link before entry ${entry.seq} (${entry.action}) is broken: an entry was removed or moved`)
          else if (entry.seq !== expectedSeq) fail('removed', expectedSeq, `entry ${expectedSeq} is missing (found ${entry.seq} in its place)`)
        }
        onEntry(entry)
        last = entry
        count++
      }
      if (page.length < AUDIT_PAGE) return
      await yieldToEventLoop()
    }
  }

  await readOn()
  // The hub appends an entry and its signed head in one transaction, so a head
  // read now covers entries that exist; read on while appends race the scan.
  let head = await repository.head()
  for (let round = 0; round < 3 && head !== undefined && (last?.seq ?? 0) < head.seq; round++) {
    await readOn()
    head = await repository.head()
  }
  const headSignatureValid = head === undefined ? null : verifySignature(auditHeadMessage(head), head.signature)
  if (problem === undefined) {
    if (head === undefined) {
      if (count > 0) fail('unsigned', 1, 'the log has entries but no signed head')
    } else if (headSignatureValid !== true) fail('bad_signature', head.seq, `the signature on the head (entry ${head.seq}) does not verify with the hub public key`)
    else if (last === undefined || last.seq < head.seq) {
      const from = (last?.seq ?? 0) + 1
      fail('truncated', from, `entries ${from}..${head.seq} were removed from the end (the signed head is entry ${head.seq})`)
    } else if (last.seq > head.seq) fail('unsigned', head.seq + 1, `entries ${head.seq + 1}..${last.seq} were added after the signed head`)
    else if (last.hash !== head.hash) fail('altered', last.seq, `entry ${last.seq} does not match the signed head`)
  }
  const verification: AuditVerification = problem === undefined ? { ok: true, entries: count, headSeq: head?.seq ?? 0 } : { ok: false, entries: count, problem }
  return { verification, head, headSignatureValid }
}
