import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { auditHeadMessage, chainAuditEntry, hashAuditEntry, verifyAuditChain } from '../../cloud/audit/audit-chain.js'
import type { AuditEntry } from '../../cloud/audit/audit-repository.js'
import { FailedLoginTally } from '../../cloud/compliance/account-controls.js'
import { AUDIT_PAGE, scanAuditLog } from '../../cloud/compliance/audit-scan.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'

// Several pages, and the tamper cases below sit in different ones.
const ENTRIES = 2500

/** A hub database holding ENTRIES chained entries and their signed head (every 10th a failed login at ts = seq). */
async function auditLog(): Promise<{ store: SqliteHubStore; identity: HubIdentity; last: () => AuditEntry }> {
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-audit-scan-'))
  const store = SqliteHubStore.open(dir)
  onTestFinished(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const identity = HubIdentity.generate()
  const insert = store.db.prepare('INSERT INTO audit_log (seq, ts, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  let previous: AuditEntry | undefined
  store.db.transaction(() => {
    for (let i = 1; i <= ENTRIES; i++) {
      const failed = i % 10 === 0
      const e = chainAuditEntry(previous, { ts: i, actor: 'anonymous', action: failed ? 'auth.login_failed' : 'device.enrol', target: 'admin', details: failed ? { reason: 'bad_password', ip: '192.0.2.7' } : {} })
      insert.run(e.seq, e.ts, e.actor, e.action, e.target, JSON.stringify(e.details), e.prevHash, e.hash)
      previous = e
    }
    const head = { seq: (previous as AuditEntry).seq, hash: (previous as AuditEntry).hash }
    store.db.prepare('INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, ?, ?, ?)').run(head.seq, head.hash, identity.sign(auditHeadMessage(head)))
  })()
  store.db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;')
  return { store, identity, last: () => previous as AuditEntry }
}

/** The paged scan and the reference check (verifyAuditChain over all entries) agree on the outcome. */
async function both(store: SqliteHubStore, identity: HubIdentity) {
  const verify = (m: string, s: string) => identity.verify(m, s)
  const scan = await scanAuditLog(store.audit, verify)
  const reference = verifyAuditChain(await store.audit.all(), await store.audit.head(), verify)
  return { scan, reference }
}

describe('paged audit scan (the compliance report and policy evaluator)', () => {
  it('verifies a log of several pages, handing every entry on in order (the failed-login tally counts the period only)', async () => {
    const { store, identity } = await auditLog()
    expect(ENTRIES).toBeGreaterThan(3 * AUDIT_PAGE)
    const { scan, reference } = await both(store, identity)
    expect(scan.verification).toEqual({ ok: true, entries: ENTRIES, headSeq: ENTRIES })
    expect(reference).toEqual(scan.verification)
    expect(scan.headSignatureValid).toBe(true)
    const seen: number[] = []
    const tally = new FailedLoginTally(1001, 2001)
    await scanAuditLog(store.audit, (m, s) => identity.verify(m, s), (entry) => {
      seen.push(entry.seq)
      tally.add(entry)
    })
    expect(seen).toEqual(Array.from({ length: ENTRIES }, (_, i) => i + 1))
    expect(tally.control(1000).sources).toEqual([{ source: '192.0.2.7', kinds: { 'login:bad_password': 100 }, count: 100, firstAt: new Date(1010).toISOString(), lastAt: new Date(2000).toISOString() }])
  })

  it.each([
    ['an altered entry', 'UPDATE audit_log SET target = \'mallory\' WHERE seq = 1700', { kind: 'altered', seq: 1700 }],
    ['a removed entry', 'DELETE FROM audit_log WHERE seq = 1200', { kind: 'removed', seq: 1200 }],
    ['a removal hidden by renumbering', 'DELETE FROM audit_log WHERE seq = 1200; UPDATE audit_log SET seq = seq - 1 WHERE seq > 1200', { kind: 'removed', seq: 1200 }],
    ['entries cut from the end', 'DELETE FROM audit_log WHERE seq >= 2400', { kind: 'truncated', seq: 2400 }],
    ['a forged head signature', "UPDATE audit_head SET signature = 'AAAA'", { kind: 'bad_signature', seq: ENTRIES }],
  ])('finds %s where the reference check does', async (_name, sql, expected) => {
    const { store, identity } = await auditLog()
    store.db.exec(sql)
    const { scan, reference } = await both(store, identity)
    expect(scan.verification).toMatchObject({ ok: false, problem: expected })
    expect(reference).toMatchObject({ ok: false, problem: expected })
  })

  it('finds an entry appended after the signed head', async () => {
    const { store, identity, last } = await auditLog()
    const extra = chainAuditEntry(last(), { ts: ENTRIES + 1, actor: 'hub', action: 'user.create', target: 'eve', details: {} })
    expect(hashAuditEntry(extra)).toBe(extra.hash)
    store.db.prepare('INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(extra.seq, extra.ts, extra.actor, extra.action, extra.target, '{}', extra.prevHash, extra.hash)
    const { scan, reference } = await both(store, identity)
    expect(scan.verification).toMatchObject({ ok: false, problem: { kind: 'unsigned', seq: ENTRIES + 1 } })
    expect(reference).toMatchObject({ ok: false, problem: { kind: 'unsigned', seq: ENTRIES + 1 } })
  })
})
