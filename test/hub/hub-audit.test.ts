import Database from 'better-sqlite3'
import { createHash, createPublicKey, generateKeyPairSync, sign, verify as cryptoVerify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auditHeadMessage, chainAuditEntry, GENESIS_HASH, hashAuditEntry, verifyAuditChain } from '../../cloud/audit/audit-chain.js'
import { canonicalJson } from '../../shared/canonical-json.js'
import type { AuditEntry } from '../../cloud/audit/audit-repository.js'
import { bearer, build, type TestHub } from './helper.js'

interface Verification {
  ok: boolean
  entries: number
  problem?: { kind: string; seq: number; message: string }
}

/** A hub whose audit log holds 5 entries: init, login, token, failed-login summary (its window ended), user creation. */
async function hubWithHistory(): Promise<{ hub: TestHub; token: string }> {
  const hub = await build()
  const token = await hub.login(hub.admin)
  await hub.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'admin', password: 'wrong password', totp: '000000' } })
  hub.clock.advance(60_000)
  expect(await hub.app.authFailures.flushDue()).toBe(1)
  const created = await hub.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(token), payload: { username: 'vera', password: 'viewer password 1' } })
  expect(created.statusCode).toBe(201)
  return { hub, token }
}

/** Edits the database behind the hub's back, as someone with the file could (triggers dropped first). */
function tamper(hub: TestHub, sql: string): void {
  const db = new Database(join(hub.dataDir, 'hub.db'))
  try {
    db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;')
    db.exec(sql)
  } finally {
    db.close()
  }
}

async function verify(hub: TestHub, token: string): Promise<Verification> {
  const response = await hub.app.inject({ url: '/v1/audit/verify', headers: bearer(token) })
  expect(response.statusCode).toBe(200)
  return response.json() as Verification
}

const COLUMNS = ['ts', 'actor', 'action', 'target', 'details', 'prev_hash', 'hash']

describe('audit log', () => {
  it('records admin actions and security events with actors, chained and signed', async () => {
    const { hub, token } = await hubWithHistory()
    const response = await hub.app.inject({ url: '/v1/audit', headers: bearer(token) })
    const entries = (response.json() as { entries: (AuditEntry & { ts: string })[] }).entries
    expect(entries.map((e) => [e.seq, e.action, e.actor, e.target])).toEqual([
      [1, 'hub.init', 'hub', 'admin'],
      [2, 'auth.login', 'user:admin', 'admin'],
      [3, 'auth.token_created', 'user:admin', 'admin'],
      [4, 'auth.failures', 'anonymous', '127.0.0.1'],
      [5, 'user.create', 'user:admin', 'vera'],
    ])
    expect(entries[3]?.details).toMatchObject({ source: '127.0.0.1', kind: 'login', count: 1, codes: { bad_password: 1 }, sampleIds: ['admin'] })
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH)
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i - 1]?.hash)
    expect(JSON.stringify(entries)).not.toContain(token)
    const verified = await verify(hub, token)
    expect(verified).toMatchObject({ ok: true, entries: 5, head: { seq: 5, hash: entries[4]?.hash } })
    // The head signature verifies with the public key in hub-identity.json.
    const { publicKeyPem } = JSON.parse(readFileSync(join(hub.dataDir, 'hub-identity.json'), 'utf8')) as { publicKeyPem: string }
    const head = (verified as unknown as { head: { seq: number; hash: string; signature: string } }).head
    expect(cryptoVerify(null, Buffer.from(auditHeadMessage(head)), createPublicKey(publicKeyPem), Buffer.from(head.signature, 'base64'))).toBe(true)
  })

  it('is append-only in the database: UPDATE and DELETE are refused', async () => {
    const { hub } = await hubWithHistory()
    const db = new Database(join(hub.dataDir, 'hub.db'))
    try {
      expect(() => db.prepare("UPDATE audit_log SET actor = 'hub' WHERE seq = 2").run()).toThrow(/append-only/)
      expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 5').run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
  })

  it('detects an altered entry', async () => {
    const { hub, token } = await hubWithHistory()
    tamper(hub, `UPDATE audit_log SET details = '{"reason":"unknown_user"}' WHERE seq = 4`)
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'altered', seq: 4 } })
  })

  it('detects a removed entry', async () => {
    const { hub, token } = await hubWithHistory()
    tamper(hub, 'DELETE FROM audit_log WHERE seq = 3')
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 3 } })
  })

  it('detects a removed entry even when the later ones are renumbered to close the gap', async () => {
    const { hub, token } = await hubWithHistory()
    tamper(hub, 'DELETE FROM audit_log WHERE seq = 3; UPDATE audit_log SET seq = seq - 1 WHERE seq > 3')
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'removed', seq: 3 } })
  })

  it('detects reordered entries', async () => {
    const { hub, token } = await hubWithHistory()
    // Swap the contents of entries 3 and 4, keeping their seq numbers.
    const set = (from: string) => COLUMNS.map((c) => `${c} = (SELECT ${c} FROM audit_log WHERE seq = ${from})`).join(', ')
    tamper(hub, `
      CREATE TEMP TABLE saved AS SELECT * FROM audit_log WHERE seq = 3;
      UPDATE audit_log SET ${set('4')} WHERE seq = 3;
      UPDATE audit_log SET ${COLUMNS.map((c) => `${c} = (SELECT ${c} FROM saved)`).join(', ')} WHERE seq = 4;
    `)
    const result = await verify(hub, token)
    expect(result).toMatchObject({ ok: false, problem: { kind: 'reordered', seq: 3 } })
    expect(result.problem?.message).toMatch(/out of order/)
  })

  it('detects a truncated log (entries removed from the end)', async () => {
    const { hub, token } = await hubWithHistory()
    tamper(hub, 'DELETE FROM audit_log WHERE seq >= 4')
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'truncated', seq: 4, message: expect.stringContaining('4..5') } })
  })

  it('detects a rewritten chain whose head was re-signed with another key', async () => {
    const { hub, token } = await hubWithHistory()
    const db = new Database(join(hub.dataDir, 'hub.db'))
    const entries = (db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Record<string, unknown>[]).map(
      (r) => ({ seq: r.seq, ts: r.ts, actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details as string), prevHash: r.prev_hash, hash: r.hash }) as AuditEntry,
    )
    db.close()
    // Rebuild the chain without entry 4 so every link and hash is consistent again.
    let previous: AuditEntry | undefined
    const rebuilt = entries.filter((e) => e.seq !== 4).map((e) => (previous = chainAuditEntry(previous, e)))
    const forger = generateKeyPairSync('ed25519').privateKey
    const last = rebuilt[rebuilt.length - 1] as AuditEntry
    const signature = sign(null, Buffer.from(auditHeadMessage(last)), forger).toString('base64')
    tamper(hub, `
      DELETE FROM audit_log;
      ${rebuilt.map((e) => `INSERT INTO audit_log VALUES (${e.seq}, ${e.ts}, '${e.actor}', '${e.action}', '${e.target}', '${JSON.stringify(e.details)}', '${e.prevHash}', '${e.hash}');`).join('\n')}
      UPDATE audit_head SET seq = ${last.seq}, hash = '${last.hash}', signature = '${signature}';
    `)
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'bad_signature' } })
  })

  it('detects a rewritten chain left under the old signed head', async () => {
    const { hub, token } = await hubWithHistory()
    const altered = chainAuditEntry(undefined, { ts: 1, actor: 'hub', action: 'hub.init', target: 'admin', details: {} })
    tamper(hub, `DELETE FROM audit_log; INSERT INTO audit_log VALUES (1, 1, 'hub', 'hub.init', 'admin', '{}', '${altered.prevHash}', '${altered.hash}');`)
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'truncated', seq: 2 } })
  })

  it('detects entries appended after the signed head', async () => {
    const { hub, token } = await hubWithHistory()
    const db = new Database(join(hub.dataDir, 'hub.db'), { readonly: true })
    const last = db.prepare('SELECT hash FROM audit_log WHERE seq = 5').get() as { hash: string }
    db.close()
    const extra = { ts: 2, actor: 'hub', action: 'user.create', target: 'eve', details: {}, prevHash: last.hash }
    tamper(hub, `INSERT INTO audit_log VALUES (6, 2, 'hub', 'user.create', 'eve', '{}', '${last.hash}', '${hashAuditEntry(extra)}')`)
    expect(await verify(hub, token)).toMatchObject({ ok: false, problem: { kind: 'unsigned', seq: 6 } })
  })
})

describe('audit chain (pure)', () => {
  const alwaysValid = () => true

  it('hashes a canonical encoding: key order does not matter, content does', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1}')
    const base = { ts: 1, actor: 'hub', action: 'hub.init', target: '', details: { x: 1, y: 2 }, prevHash: GENESIS_HASH }
    expect(hashAuditEntry(base)).toBe(hashAuditEntry({ ...base, details: { y: 2, x: 1 } }))
    expect(hashAuditEntry(base)).not.toBe(hashAuditEntry({ ...base, details: { x: 1, y: 3 } }))
    expect(hashAuditEntry(base)).toBe(createHash('sha256').update(canonicalJson({ v: 1, ...base })).digest('hex'))
  })

  it('accepts an empty log with no head and refuses entries with no head', () => {
    expect(verifyAuditChain([], undefined, alwaysValid)).toEqual({ ok: true, entries: 0, headSeq: 0 })
    const first = chainAuditEntry(undefined, { ts: 1, actor: 'hub', action: 'hub.init', target: '', details: {} })
    expect(verifyAuditChain([first], undefined, alwaysValid)).toMatchObject({ ok: false, problem: { kind: 'unsigned' } })
    expect(verifyAuditChain([first], { seq: 1, hash: first.hash, signature: 'x' }, alwaysValid)).toMatchObject({ ok: true })
    expect(verifyAuditChain([first], { seq: 1, hash: first.hash, signature: 'x' }, () => false)).toMatchObject({ ok: false, problem: { kind: 'bad_signature' } })
  })
})
