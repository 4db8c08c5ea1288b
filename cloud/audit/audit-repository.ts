export interface AuditEntry {
  /** Position in the log, from 1, gapless. */
  seq: number
  ts: number
  /** Who acted: `user:<username>`, `device:<id>`, `hub` or `anonymous`. */
  actor: string
  /** What happened, dotted: `auth.login`, `auth.failures`, `user.create`, ... */
  action: string
  /** What it was done to (username, device id), or '' when nothing. */
  target: string
  details: Record<string, unknown>
  /** Hash of the previous entry (64 zeros for the first). */
  prevHash: string
  /** sha256 over the canonical encoding of this entry (see cloud/audit/audit-chain.ts). */
  hash: string
}

export interface SignedAuditHead {
  seq: number
  hash: string
  /** Ed25519 signature (base64) by the hub key over the canonical `{seq, hash}`. */
  signature: string
}

export interface AuditRepository {
  /**
   * Appends one entry and replaces the signed head, in one transaction: `seal`
   * gets the current last entry (or undefined) and returns the new entry and
   * the head signature.
   */
  append(seal: (previous: AuditEntry | undefined) => { entry: AuditEntry; head: SignedAuditHead }): Promise<AuditEntry>
  /** Entries by seq ascending, after `afterSeq`, at most `limit`. */
  list(options: { afterSeq?: number; limit: number; order?: 'asc' | 'desc' }): Promise<AuditEntry[]>
  /** Every entry in storage order (seq ascending): for verification. */
  all(): Promise<AuditEntry[]>
  head(): Promise<SignedAuditHead | undefined>
}
