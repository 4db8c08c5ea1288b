import { createHash } from 'node:crypto'
import type { AuditEntry, SignedAuditHead } from './audit-repository.js'
import { canonicalJson } from '../../shared/canonical-json.js'

/** The previous-hash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64)

export interface AuditDraft {
  ts: number
  actor: string
  action: string
  target: string
  details: Record<string, unknown>
}

/**
 * sha256 over the canonical encoding of the entry's content and the previous
 * hash. The seq is deliberately not hashed: order is carried by the chain
 * (each entry names its predecessor), so swapping two rows shows up as a
 * broken link rather than as an alteration.
 */
export function hashAuditEntry(entry: AuditDraft & { prevHash: string }): string {
  const { ts, actor, action, target, details, prevHash } = entry
  return createHash('sha256').update(canonicalJson({ v: 1, ts, actor, action, target, details, prevHash })).digest('hex')
}

/** The bytes the hub signs for the head. */
export function auditHeadMessage(head: { seq: number; hash: string }): string {
  return canonicalJson({ v: 1, kind: 'cloudos.audit.head', seq: head.seq, hash: head.hash })
}

/** The entry that follows `previous`, linked and hashed. */
export function chainAuditEntry(previous: AuditEntry | undefined, draft: AuditDraft): AuditEntry {
  const prevHash = previous?.hash ?? GENESIS_HASH
  // JSON round trip: the hash must be over what storage gives back.
  const details = JSON.parse(JSON.stringify(draft.details)) as Record<string, unknown>
  const linked = { ts: draft.ts, actor: draft.actor, action: draft.action, target: draft.target, details, prevHash }
  return { seq: (previous?.seq ?? 0) + 1, ...linked, hash: hashAuditEntry(linked) }
}

export type AuditProblemKind = 'altered' | 'removed' | 'reordered' | 'unsigned' | 'bad_signature' | 'truncated'

export interface AuditProblem {
  kind: AuditProblemKind
  /** The seq of the first entry where the problem shows. */
  seq: number
  message: string
}

export type AuditVerification =
  | { ok: true; entries: number; headSeq: number }
  | { ok: false; entries: number; problem: AuditProblem }

/**
 * Recomputes the chain from the first entry and checks the signed head.
 * Reports the first problem only: everything after it is suspect anyway.
 */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  head: SignedAuditHead | undefined,
  verifySignature: (message: string, signature: string) => boolean,
): AuditVerification {
  const fail = (kind: AuditProblemKind, seq: number, message: string): AuditVerification => ({ ok: false, entries: entries.length, problem: { kind, seq, message } })
  const positionOfHash = new Map(entries.map((e, i) => [e.hash, i] as const))

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as AuditEntry
    const expectedSeq = i + 1
    const expectedPrev = i === 0 ? GENESIS_HASH : (entries[i - 1] as AuditEntry).hash
    const contentIntact = hashAuditEntry(entry) === entry.hash
    if (!contentIntact) {
      return fail('altered', entry.seq, `entry ${entry.seq} (${entry.action}) was altered: its content no longer matches its hash`)
    }
    if (entry.prevHash !== expectedPrev) {
      const predecessor = positionOfHash.get(entry.prevHash)
      if (predecessor !== undefined && predecessor !== i - 1) {
        return fail('reordered', entry.seq, `entry ${entry.seq} (${entry.action}) is out of order: it follows entry ${(entries[predecessor] as AuditEntry).seq} in the chain`)
      }
      return fail('removed', expectedSeq, `the entry before entry ${entry.seq} (${entry.action}) was removed: the chain link is broken`)
    }
    if (entry.seq !== expectedSeq) {
      // Links intact but numbering has a gap: rows renumbered to hide a removal.
      return fail('removed', expectedSeq, `entry ${expectedSeq} is missing (found ${entry.seq} in its place)`)
    }
  }

  if (head === undefined) {
    return entries.length === 0 ? { ok: true, entries: 0, headSeq: 0 } : fail('unsigned', 1, 'the log has entries but no signed head')
  }
  if (!verifySignature(auditHeadMessage(head), head.signature)) {
    return fail('bad_signature', head.seq, `the signature on the head (entry ${head.seq}) does not verify with the hub public key`)
  }
  const last = entries[entries.length - 1]
  if (last === undefined || last.seq < head.seq) {
    const from = (last?.seq ?? 0) + 1
    return fail('truncated', from, `entries ${from}..${head.seq} were removed from the end (the signed head is entry ${head.seq})`)
  }
  if (last.seq > head.seq) {
    return fail('unsigned', head.seq + 1, `entries ${head.seq + 1}..${last.seq} were added after the signed head`)
  }
  if (last.hash !== head.hash) {
    return fail('altered', last.seq, `entry ${last.seq} does not match the signed head`)
  }
  return { ok: true, entries: entries.length, headSeq: head.seq }
}
