import { describe, expect, it } from 'vitest'
import { chainAuditEntry } from '../../cloud/audit/audit-chain.js'
import type { UserId } from '../../cloud/accounts/user-repository.js'
import type { DeviceId, NewDevice } from '../../cloud/devices/device-repository.js'
import type { ReleaseId, ReleaseRecord } from '../../cloud/ota/release-repository.js'
import type { RolloutId, RolloutRecord } from '../../cloud/ota/rollout-repository.js'
import type { ConfigRepository } from '../../cloud/config/config-repository.js'
import type { HubStore } from '../../cloud/store/hub-store.js'
import type { ConfigReport } from '../../shared/protocol/config-sync.js'

/**
 * The contract every HubStore backend passes (like automerge-repo's storage
 * adapter tests): SQLite today, PostgreSQL later runs the same suite.
 */
export function hubStoreContract(name: string, open: () => Promise<{ store: HubStore; cleanup: () => Promise<void> }>): void {
  async function withStore(test: (store: HubStore) => Promise<void>): Promise<void> {
    const { store, cleanup } = await open()
    try {
      await test(store)
    } finally {
      await store.close()
      await cleanup()
    }
  }

  const user = (username: string) => ({ id: `u-${username}` as UserId, username, role: 'viewer' as const, passwordHash: 'scrypt$x', totpSecret: 'ABC', createdAt: 1 })

  describe(`HubStore contract: ${name}`, () => {
    it('users: create, find, list, conflict on a taken username', () =>
      withStore(async (store) => {
        await store.users.create(user('alice'))
        await store.users.create(user('bob'))
        expect(await store.users.findByUsername('alice')).toMatchObject({ id: 'u-alice', role: 'viewer', totpLastStep: null })
        expect(await store.users.findById('u-bob' as UserId)).toMatchObject({ username: 'bob' })
        expect(await store.users.findByUsername('carol')).toBeUndefined()
        expect((await store.users.list()).map((u) => u.username)).toEqual(['alice', 'bob'])
        expect(await store.users.count()).toBe(2)
        await expect(store.users.create({ ...user('alice'), id: 'u-other' as UserId })).rejects.toMatchObject({ code: 'HUB_ERR_CONFLICT' })
      }))

    it('hub alerts: raised once per (kind, subject) while it holds, cleared when it is gone, raised afresh if it comes back', () =>
      withStore(async (store) => {
        const mfa = { kind: 'admin-mfa', subject: 'user:olga', severity: 'critical' as const, message: 'no MFA' }
        const tls = { kind: 'transport-tls', subject: 'transport', severity: 'critical' as const, message: 'plain HTTP' }
        const first = await store.hubAlerts.reconcile('policy', [mfa, tls], 100)
        expect(first.raised.map((a) => [a.kind, a.subject, a.raisedAt, a.clearedAt])).toEqual([['admin-mfa', 'user:olga', 100, null], ['transport-tls', 'transport', 100, null]])
        expect(first.cleared).toEqual([])
        // Still violated: nothing new.
        expect(await store.hubAlerts.reconcile('policy', [mfa, tls], 200)).toEqual({ raised: [], cleared: [] })
        const second = await store.hubAlerts.reconcile('policy', [tls], 300)
        expect(second.cleared.map((a) => [a.subject, a.clearedAt])).toEqual([['user:olga', 300]])
        expect((await store.hubAlerts.list({ open: true, limit: 10 })).map((a) => a.subject)).toEqual(['transport'])
        const third = await store.hubAlerts.reconcile('policy', [tls, mfa], 400)
        expect(third.raised.map((a) => [a.subject, a.raisedAt])).toEqual([['user:olga', 400]])
        const all = await store.hubAlerts.list({ source: 'policy', limit: 10 })
        expect(all.map((a) => [a.subject, a.raisedAt, a.clearedAt])).toEqual([['user:olga', 400, null], ['transport', 100, null], ['user:olga', 100, 300]])
        expect((await store.hubAlerts.list({ open: false, limit: 10 })).map((a) => a.id)).toEqual([first.raised[0]?.id])
      }))

    it('users: a TOTP step is claimed once, and never an earlier one', () =>
      withStore(async (store) => {
        await store.users.create(user('alice'))
        const id = 'u-alice' as UserId
        expect(await store.users.claimTotpStep(id, 100)).toBe(true)
        expect(await store.users.claimTotpStep(id, 100)).toBe(false)
        expect(await store.users.claimTotpStep(id, 99)).toBe(false)
        expect(await store.users.claimTotpStep(id, 101)).toBe(true)
        expect((await store.users.findById(id))?.totpLastStep).toBe(101)
      }))

    it('sessions: found until they expire, then deleted', () =>
      withStore(async (store) => {
        await store.users.create(user('alice'))
        await store.sessions.create({ tokenHash: 'h1', userId: 'u-alice' as UserId, createdAt: 0, expiresAt: 1000 })
        expect(await store.sessions.findValid('h1', 999)).toMatchObject({ userId: 'u-alice' })
        expect(await store.sessions.findValid('h1', 1000)).toBeUndefined()
        expect(await store.sessions.findValid('nope', 0)).toBeUndefined()
        expect(await store.sessions.deleteExpired(1000)).toBe(1)
      }))

    it('audit: append seals against the current last entry and replaces the head; list pages', () =>
      withStore(async (store) => {
        expect(await store.audit.head()).toBeUndefined()
        for (let i = 0; i < 3; i++) {
          await store.audit.append((previous) => {
            const entry = chainAuditEntry(previous, { ts: i, actor: 'hub', action: 'test', target: String(i), details: { i, nested: { b: 1, a: 2 } } })
            return { entry, head: { seq: entry.seq, hash: entry.hash, signature: `sig${entry.seq}` } }
          })
        }
        const all = await store.audit.all()
        expect(all.map((e) => e.seq)).toEqual([1, 2, 3])
        expect(all[2]?.prevHash).toBe(all[1]?.hash)
        expect(all[0]?.details).toEqual({ i: 0, nested: { b: 1, a: 2 } })
        expect(await store.audit.head()).toEqual({ seq: 3, hash: all[2]?.hash, signature: 'sig3' })
        expect((await store.audit.list({ afterSeq: 1, limit: 1 })).map((e) => e.seq)).toEqual([2])
        expect((await store.audit.list({ limit: 2, order: 'desc' })).map((e) => e.seq)).toEqual([3, 2])
      }))

    it('audit: a seal that throws appends nothing', () =>
      withStore(async (store) => {
        await expect(
          store.audit.append(() => {
            throw new Error('signing failed')
          }),
        ).rejects.toThrow('signing failed')
        expect(await store.audit.all()).toEqual([])
        expect(await store.audit.head()).toBeUndefined()
      }))

    it('users: disabled and enabled again; deleted with all their sessions', () =>
      withStore(async (store) => {
        await store.users.create(user('alice'))
        await store.users.create(user('bob'))
        const alice = 'u-alice' as UserId
        expect((await store.users.findById(alice))?.disabledAt).toBeNull()
        expect(await store.users.setDisabled(alice, 500)).toBe(true)
        expect((await store.users.findByUsername('alice'))?.disabledAt).toBe(500)
        expect(await store.users.setDisabled(alice, null)).toBe(true)
        expect((await store.users.findById(alice))?.disabledAt).toBeNull()
        expect(await store.users.setDisabled('u-nobody' as UserId, 1)).toBe(false)
        await store.sessions.create({ tokenHash: 'a1', userId: alice, createdAt: 0, expiresAt: 1000 })
        await store.sessions.create({ tokenHash: 'b1', userId: 'u-bob' as UserId, createdAt: 0, expiresAt: 1000 })
        expect(await store.users.delete(alice)).toBe(true)
        expect(await store.users.delete(alice)).toBe(false)
        expect(await store.users.findById(alice)).toBeUndefined()
        expect(await store.sessions.findValid('a1', 0)).toBeUndefined()
        expect(await store.sessions.findValid('b1', 0)).toMatchObject({ userId: 'u-bob' })
        expect((await store.users.list()).map((u) => u.username)).toEqual(['bob'])
      }))

    it('sessions: one revoked (logout), or every one of a user', () =>
      withStore(async (store) => {
        await store.users.create(user('alice'))
        await store.users.create(user('bob'))
        const alice = 'u-alice' as UserId
        for (const hash of ['a1', 'a2', 'a3']) await store.sessions.create({ tokenHash: hash, userId: alice, createdAt: 0, expiresAt: 1000 })
        await store.sessions.create({ tokenHash: 'b1', userId: 'u-bob' as UserId, createdAt: 0, expiresAt: 1000 })
        expect(await store.sessions.delete('a1')).toBe(true)
        expect(await store.sessions.delete('a1')).toBe(false)
        expect(await store.sessions.findValid('a1', 0)).toBeUndefined()
        expect(await store.sessions.findValid('a2', 0)).toBeDefined()
        expect(await store.sessions.deleteForUser(alice)).toBe(2)
        expect(await store.sessions.findValid('a3', 0)).toBeUndefined()
        expect(await store.sessions.findValid('b1', 0)).toBeDefined()
      }))

    it('replay nonces: remembered once per device until they expire, then taken over or pruned', () =>
      withStore(async (store) => {
        const nonces = store.replayNonces
        expect(await nonces.seen('d1', 'n1', 0)).toBe(false)
        expect(await nonces.remember('d1', 'n1', 1000, 0)).toBe(true)
        expect(await nonces.seen('d1', 'n1', 1000)).toBe(true)
        expect(await nonces.remember('d1', 'n1', 2000, 500)).toBe(false)
        // Per device: another device may use the same nonce.
        expect(await nonces.remember('d2', 'n1', 1000, 0)).toBe(true)
        // Expired: no longer seen, and it can be held again.
        expect(await nonces.seen('d1', 'n1', 1001)).toBe(false)
        expect(await nonces.remember('d1', 'n1', 3000, 1001)).toBe(true)
        expect(await nonces.seen('d1', 'n1', 2500)).toBe(true)
        expect(await nonces.prune(2000)).toBe(1)
        expect(await nonces.seen('d2', 'n1', 0)).toBe(false)
        expect(await nonces.seen('d1', 'n1', 2500)).toBe(true)
        // Of many racing to hold one nonce, exactly one wins.
        const raced = await Promise.all(Array.from({ length: 8 }, () => nonces.remember('d3', 'n', 5000, 0)))
        expect(raced.filter(Boolean)).toHaveLength(1)
      }))

    it('devices: enrolment consumes the token once; list filters; revoke once', () =>
      withStore(async (store) => {
        await store.enrolmentTokens.create({ id: 't1', tokenHash: 'th1', group: 'g1', tier: 'edge', createdBy: 'user:admin', createdAt: 0, expiresAt: 10, usedAt: null, deviceId: null })
        const device = (id: string, publicKey: string): NewDevice => ({
          id: id as DeviceId,
          name: id,
          group: 'g1',
          tier: 'edge',
          publicKey,
          facts: { cpuCount: 1, memoryBytes: 1, freeDiskBytes: 1, arch: 'x64', os: 'linux', runtimeVersion: 'v20.0.0' },
          status: 'active',
          enrolmentTokenId: 't1',
          enrolledAt: 5,
          lastSeenAt: null,
          revokedAt: null,
        })
        expect(await store.devices.enrol(device('d1', 'k1'))).toBe('enrolled')
        expect(await store.devices.enrol(device('d2', 'k2'))).toBe('token_used')
        expect(await store.devices.findById('d2' as DeviceId)).toBeUndefined()
        expect(await store.enrolmentTokens.findByHash('th1')).toMatchObject({ usedAt: 5, deviceId: 'd1' })
        expect((await store.devices.list({ group: 'g1', limit: 10 })).map((d) => d.id)).toEqual(['d1'])
        expect(await store.devices.list({ group: 'g2', limit: 10 })).toEqual([])
        await store.devices.touch('d1' as DeviceId, 7)
        await store.devices.touch('d1' as DeviceId, 6)
        expect((await store.devices.findById('d1' as DeviceId))?.lastSeenAt).toBe(7)
        expect(await store.devices.revoke('d1' as DeviceId, 8)).toBe(true)
        expect(await store.devices.revoke('d1' as DeviceId, 9)).toBe(false)
        expect(await store.devices.list({ status: 'revoked', limit: 10 })).toMatchObject([{ id: 'd1', revokedAt: 8 }])
        expect(await store.devices.setLabels('d1' as DeviceId, { ring: 'beta' })).toBe(true)
        expect((await store.devices.findById('d1' as DeviceId))?.labels).toEqual({ ring: 'beta' })
        expect((await store.devices.list({ label: { key: 'ring', value: 'beta' }, limit: 10 })).map((d) => d.id)).toEqual(['d1'])
        expect(await store.devices.setLabels('nope' as DeviceId, {})).toBe(false)
      }))

    it('devices: a duplicate public key is refused and leaves the token unused', () =>
      withStore(async (store) => {
        for (const id of ['t1', 't2']) {
          await store.enrolmentTokens.create({ id, tokenHash: `h-${id}`, group: 'g', tier: 'lite', createdBy: 'x', createdAt: 0, expiresAt: 10, usedAt: null, deviceId: null })
        }
        const base = { name: 'n', group: 'g', tier: 'lite' as const, publicKey: 'same', facts: { cpuCount: 1, memoryBytes: 1, freeDiskBytes: 1, arch: 'a', os: 'o', runtimeVersion: '20.0.0' }, status: 'active' as const, enrolledAt: 1, lastSeenAt: null, revokedAt: null }
        expect(await store.devices.enrol({ ...base, id: 'd1' as DeviceId, enrolmentTokenId: 't1' })).toBe('enrolled')
        await expect(store.devices.enrol({ ...base, id: 'd2' as DeviceId, enrolmentTokenId: 't2' })).rejects.toMatchObject({ code: 'HUB_ERR_CONFLICT' })
        expect(await store.enrolmentTokens.findByHash('h-t2')).toMatchObject({ usedAt: null })
      }))

    it('enrolment tokens: stored by hash (the value never), found, listed newest first, marked used by enrolment', () =>
      withStore(async (store) => {
        const token = (id: string, createdAt: number) => ({ id, tokenHash: `hash-${id}`, group: 'g', tier: 'lite' as const, createdBy: 'user:admin', createdAt, expiresAt: createdAt + 100, usedAt: null, deviceId: null })
        expect(await store.enrolmentTokens.list()).toEqual([])
        await store.enrolmentTokens.create(token('t1', 1))
        await store.enrolmentTokens.create(token('t2', 2))
        expect(await store.enrolmentTokens.findByHash('hash-t2')).toEqual(token('t2', 2))
        expect(await store.enrolmentTokens.findByHash('t2')).toBeUndefined()
        const facts = { cpuCount: 1, memoryBytes: 1, freeDiskBytes: 1, arch: 'a', os: 'o', runtimeVersion: '20.0.0' }
        await store.devices.enrol({ id: 'd1' as DeviceId, name: 'd1', group: 'g', tier: 'lite', publicKey: 'k1', facts, status: 'active', enrolmentTokenId: 't1', enrolledAt: 50, lastSeenAt: 50, revokedAt: null })
        expect(await store.enrolmentTokens.list()).toEqual([token('t2', 2), { ...token('t1', 1), usedAt: 50, deviceId: 'd1' }])
      }))

    it('config: documents saved and replaced, sync states per (peer, document), the latest report per device', () => withStore((store) => configRepositoryContract(store.config)))

    const enrolled = async (store: HubStore, id: string, extra: Partial<NewDevice> = {}) => {
      await store.enrolmentTokens.create({ id: `t-${id}`, tokenHash: `h-${id}`, group: 'g', tier: 'edge', createdBy: 'x', createdAt: 0, expiresAt: 10, usedAt: null, deviceId: null })
      const facts = { cpuCount: 1, memoryBytes: 1, freeDiskBytes: 1, arch: 'a', os: 'o', runtimeVersion: '20.0.0' }
      await store.devices.enrol({ id: id as DeviceId, name: id, group: 'g', tier: 'edge', publicKey: `k-${id}`, facts, status: 'active', enrolmentTokenId: `t-${id}`, enrolledAt: 1, lastSeenAt: 1, revokedAt: null, ...extra })
      return id as DeviceId
    }
    const health = (queueDepth: number) => ({ uptimeSeconds: 1, queueDepth, dbSizeBytes: 1, readingsPerSecond: 1, rejectedPerSecond: 0, cpuPercent: 1, memoryBytes: 1 })

    it('fleet: heartbeats bring devices online, fill a bounded history, offline after the cutoff, with transitions and events', () =>
      withStore(async (store) => {
        const d1 = await enrolled(store, 'd1', { labels: { site: 'north' } })
        const d2 = await enrolled(store, 'd2')
        expect(await store.devices.findById(d1)).toMatchObject({ liveness: 'never-seen', health: null, labels: { site: 'north' } })
        const outcomes = await store.fleet.recordHeartbeats([{ deviceId: d1, at: 10, health: health(1) }, { deviceId: d1, at: 20, health: health(2) }, { deviceId: d2, at: 20, health: health(9) }], 2)
        expect(outcomes.map((o) => o.previous)).toEqual(['never-seen', 'online', 'never-seen'])
        await store.fleet.recordHeartbeats([{ deviceId: d1, at: 30, health: health(3) }], 2)
        expect(await store.devices.findById(d1)).toMatchObject({ liveness: 'online', lastHeartbeatAt: 30, lastSeenAt: 30, health: { at: 30, health: health(3) } })
        expect((await store.fleet.healthHistory(d1, 10)).map((h) => h.health.queueDepth)).toEqual([3, 2])
        expect(await store.fleet.markOffline(25, 40)).toEqual([{ deviceId: d2, at: 40, from: 'online', to: 'offline', reason: 'missed heartbeats' }])
        expect(await store.fleet.markOffline(25, 41)).toEqual([])
        expect((await store.devices.list({ status: 'offline', limit: 10 })).map((d) => d.id)).toEqual([d2])
        expect((await store.devices.list({ label: { key: 'site', value: 'north' }, limit: 10 })).map((d) => d.id)).toEqual([d1])
        expect((await store.devices.list({ label: { key: 'site', value: 'south' }, limit: 10 })).map((d) => d.id)).toEqual([])
        expect((await store.fleet.transitions(d2, 10)).map((t) => `${t.from}->${t.to}`)).toEqual(['online->offline', 'never-seen->online'])
        expect((await store.fleet.events({ deviceId: d2, limit: 10 })).map((e) => e.kind)).toEqual(['device.offline', 'device.online', 'device.enrolled'])
        expect(await store.devices.revoke(d2, 50)).toBe(true)
        expect((await store.fleet.recordHeartbeats([{ deviceId: d2, at: 60, health: health(0) }], 2))[0]).toMatchObject({ revoked: true })
        expect(await store.fleet.groups()).toEqual([{ group: 'g', total: 2, counts: { online: 1, offline: 0, revoked: 1, 'never-seen': 0 } }])
      }))

    it('alerts: stored once per (device, seq), listed newest first, acknowledged once', () =>
      withStore(async (store) => {
        const d1 = await enrolled(store, 'd1')
        const alert = (seq: number) => ({ seq, raisedAt: 100 + seq, sensorId: 's', metric: 'm', severity: 'critical' as const, rule: 'r', value: seq === 2 ? null : seq, message: 'x' })
        expect(await store.alerts.ingest(d1, [alert(1), alert(2)], 500)).toEqual({ accepted: 2, duplicates: 0, lastSeq: 2 })
        expect(await store.alerts.ingest(d1, [alert(2), alert(3), alert(3)], 501)).toEqual({ accepted: 1, duplicates: 2, lastSeq: 3 })
        const listed = await store.alerts.list({ limit: 10 })
        expect(listed.map((a) => a.seq)).toEqual([3, 2, 1])
        expect(listed[1]).toMatchObject({ deviceId: d1, value: null, receivedAt: 500, acknowledgedAt: null })
        const id = listed[0]?.id as number
        expect(await store.alerts.acknowledge(id, 'user:a', 600)).toBe(true)
        expect(await store.alerts.acknowledge(id, 'user:b', 601)).toBe(false)
        expect(await store.alerts.findById(id)).toMatchObject({ acknowledgedBy: 'user:a', acknowledgedAt: 600 })
        expect((await store.alerts.list({ acknowledged: false, limit: 10 })).map((a) => a.seq)).toEqual([2, 1])
        expect((await store.alerts.list({ from: 102, to: 103, limit: 10 })).map((a) => a.seq)).toEqual([2])
      }))

    it('telemetry: a batch is stored once per (device, seq), in order or after a declared gap, and found by series and time', () =>
      withStore(async (store) => {
        const d1 = await enrolled(store, 'd1')
        const d2 = await enrolled(store, 'd2')
        const input = (deviceId: typeof d1, seq: number, tsMin: number, extra: { previousSeq?: number; droppedReadings?: number } = {}) => ({
          deviceId,
          seq,
          bytes: Uint8Array.from([seq, 1, 2, 3]),
          readingCount: 20,
          tsMin,
          tsMax: tsMin + 99,
          series: [
            { sensorId: 's1', metric: 'm', tsMin, tsMax: tsMin + 99, count: 10 },
            { sensorId: 's2', metric: 'm', tsMin, tsMax: tsMin + 50, count: 10 },
          ],
          receivedAt: 1000 + seq,
          ...extra,
        })
        expect(await store.telemetry.deviceState(d1)).toBeUndefined()
        expect(await store.telemetry.append(input(d1, 1, 0))).toEqual({ outcome: 'stored', lastSeq: 1 })
        expect(await store.telemetry.append(input(d1, 1, 0))).toEqual({ outcome: 'duplicate', lastSeq: 1 })
        expect(await store.telemetry.append(input(d1, 3, 200))).toEqual({ outcome: 'out_of_order', lastSeq: 1, expectedSeq: 2 })
        expect(await store.telemetry.append(input(d1, 3, 200, { previousSeq: 1, droppedReadings: 20 }))).toEqual({ outcome: 'stored', lastSeq: 3 })
        expect(await store.telemetry.append(input(d1, 2, 100))).toEqual({ outcome: 'out_of_order', lastSeq: 3, expectedSeq: 4 })
        expect(await store.telemetry.append(input(d2, 1, 0))).toEqual({ outcome: 'stored', lastSeq: 1 })
        expect(await store.telemetry.has(d1, 3)).toBe(true)
        expect(await store.telemetry.has(d1, 2)).toBe(false)
        expect(await store.telemetry.deviceState(d1)).toMatchObject({ deviceId: d1, lastSeq: 3, batches: 2, readings: 40, droppedReadings: 20, updatedAt: 1003 })
        const found = await store.telemetry.batchesFor({ deviceId: d1, sensorId: 's2', metric: 'm', from: 0, to: 1000 })
        expect(found.map((b) => b.seq)).toEqual([1, 3])
        expect(Array.from(found[1]?.bytes ?? [])).toEqual([3, 1, 2, 3])
        expect((await store.telemetry.batchesFor({ deviceId: d1, sensorId: 's2', metric: 'm', from: 60, to: 199 })).map((b) => b.seq)).toEqual([])
        expect((await store.telemetry.batchesFor({ deviceId: d1, sensorId: 's1', metric: 'm', from: 60, to: 199 })).map((b) => b.seq)).toEqual([1])
        expect(await store.telemetry.batchesFor({ deviceId: d1, sensorId: 's3', metric: 'm', from: 0, to: 1000 })).toEqual([])
      }))

    it('upload streams: content held in any epoch is a duplicate, the same (device, epoch, seq) with other content a conflict, a new epoch starts at any seq', () =>
      withStore(async (store) => {
        const d1 = await enrolled(store, 'd1')
        const input = (seq: number, hash: string, epoch?: string) => ({
          deviceId: d1,
          seq,
          ...(epoch === undefined ? {} : { epoch }),
          contentSha256: hash.repeat(64),
          bytes: Uint8Array.from([seq]),
          readingCount: 1,
          tsMin: seq,
          tsMax: seq,
          series: [{ sensorId: 's1', metric: 'm', tsMin: seq, tsMax: seq, count: 1 }],
          receivedAt: 1000 + seq,
        })
        expect(await store.telemetry.append(input(1, 'a'))).toEqual({ outcome: 'stored', lastSeq: 1 })
        expect(await store.telemetry.append(input(2, 'b'))).toEqual({ outcome: 'stored', lastSeq: 2 })
        // A restored device reuses seq 2 for new readings: refused, not taken for a repeat.
        expect(await store.telemetry.append(input(2, 'c'))).toEqual({ outcome: 'conflict', lastSeq: 2, heldSha256: 'b'.repeat(64) })
        // Under a new epoch it is stored, at its own seq, and recorded as the device's new epoch.
        expect(await store.telemetry.append(input(2, 'c', 'e2'))).toEqual({ outcome: 'stored', lastSeq: 2, newEpoch: true })
        // Held content is a duplicate whatever epoch it comes under.
        expect(await store.telemetry.append(input(1, 'a', 'e2'))).toEqual({ outcome: 'duplicate', lastSeq: 2 })
        expect(await store.telemetry.append(input(3, 'd', 'e2'))).toEqual({ outcome: 'stored', lastSeq: 3 })
        expect(await store.telemetry.has(d1, 2, 'e2')).toBe(true)
        expect(await store.telemetry.deviceState(d1)).toMatchObject({ batches: 4, readings: 4 })

        const alert = (seq: number, value: number) => ({ seq, raisedAt: 100 + seq, sensorId: 's', metric: 'm', severity: 'critical' as const, rule: 'r', value, message: 'x', contentSha256: String(value % 10).repeat(64) })
        expect(await store.alerts.ingest(d1, [alert(1, 1), alert(2, 2)], 500)).toEqual({ accepted: 2, duplicates: 0, lastSeq: 2 })
        await expect(store.alerts.ingest(d1, [alert(3, 3), alert(2, 5)], 501)).rejects.toMatchObject({ code: 'HUB_ERR_STREAM_CONFLICT' })
        expect((await store.alerts.list({ deviceId: d1, limit: 10 })).map((a) => a.seq)).toEqual([2, 1])
        expect(await store.alerts.ingest(d1, [alert(1, 1), alert(2, 5)], 502, 'e3')).toEqual({ accepted: 1, duplicates: 1, lastSeq: 2, newEpoch: true })
        expect((await store.alerts.list({ deviceId: d1, limit: 10 })).map((a) => a.value)).toEqual([5, 2, 1])
      }))

    it('release keys and releases: add, list, conflicts, delete refused while a rollout is active', () =>
      withStore(async (store) => {
        await store.releaseKeys.add({ id: 'k1', name: 'team', publicKeyPem: 'PEM', addedBy: 'user:admin', addedAt: 1 })
        await expect(store.releaseKeys.add({ id: 'k1', name: 'again', publicKeyPem: 'PEM', addedBy: 'user:admin', addedAt: 2 })).rejects.toMatchObject({ code: 'HUB_ERR_CONFLICT' })
        expect((await store.releaseKeys.list()).map((k) => k.name)).toEqual(['team'])
        expect(await store.releaseKeys.remove('k1')).toBe(true)
        expect(await store.releaseKeys.remove('k1')).toBe(false)

        const release = (id: string, version: string, uploadedAt: number): ReleaseRecord => ({
          id: id as ReleaseId,
          name: 'rt',
          version,
          kind: 'runtime',
          manifest: { formatVersion: 1, bundleId: `b-${id}`, name: 'rt', version, kind: 'runtime', target: {}, expiresAt: '2030-01-01T00:00:00Z', createdAt: '2026-01-01T00:00:00Z', files: [], payloadBytes: 0 },
          bundleFile: `${id}.bundle`,
          bundleBytes: 10,
          bundleSha256: 'ab',
          signingKeyId: 'k1',
          uploadedBy: 'user:admin',
          uploadedAt,
        })
        await store.releases.create(release('r1', '1.0.0', 1))
        await store.releases.create(release('r2', '1.1.0', 2))
        await expect(store.releases.create(release('r3', '1.1.0', 3))).rejects.toMatchObject({ code: 'RELEASE_ERR_DUPLICATE' })
        expect((await store.releases.list({ limit: 10 })).map((r) => r.id)).toEqual(['r2', 'r1'])
        expect((await store.releases.findById('r1' as ReleaseId))?.manifest.bundleId).toBe('b-r1')

        const rollout: RolloutRecord = {
          id: 'ro1' as RolloutId,
          releaseId: 'r1' as ReleaseId,
          target: { group: 'g' },
          allowDowngrade: false,
          state: 'running',
          currentWave: 0,
          waves: [
            { index: 0, percent: 50, deviceCount: 1, state: 'running', startedAt: 1, finishedAt: null, healthyAfterSeconds: 0, maxFailureRate: 0, timeoutSeconds: 60 },
            { index: 1, percent: 100, deviceCount: 1, state: 'waiting', startedAt: null, finishedAt: null, healthyAfterSeconds: 0, maxFailureRate: 0, timeoutSeconds: 60 },
          ],
          createdBy: 'user:admin',
          createdAt: 10,
          updatedAt: 10,
          pausedAt: null,
          finishedAt: null,
          reason: null,
        }
        expect(await store.rollouts.create(rollout, [{ deviceId: 'd1' as DeviceId, wave: 0 }, { deviceId: 'd2' as DeviceId, wave: 1 }])).toEqual({ created: true })
        expect(await store.releases.delete('r1' as ReleaseId)).toBe('in_use')
        // d1 is busy in ro1: a second rollout including it adds nothing.
        expect(await store.rollouts.create({ ...rollout, id: 'ro2' as RolloutId, createdAt: 11 }, [{ deviceId: 'd1' as DeviceId, wave: 0 }])).toEqual({ created: false, busyIn: ['ro1'] })
        expect(await store.rollouts.findById('ro2' as RolloutId)).toBeUndefined()

        expect(await store.rollouts.isOffered('r1' as ReleaseId, 'd1' as DeviceId)).toBe(true)
        expect(await store.rollouts.isOffered('r1' as ReleaseId, 'd2' as DeviceId)).toBe(false)
        expect(await store.rollouts.recordDeviceState('ro1' as RolloutId, 'd1' as DeviceId, 'pending', { state: 'committed', code: null, reason: null, runningVersion: '1.0.0', reportedAt: 5, updatedAt: 12, committedAt: 12 })).toBe(true)
        // Compare and set: the member is no longer pending.
        expect(await store.rollouts.recordDeviceState('ro1' as RolloutId, 'd1' as DeviceId, 'pending', { state: 'failed', code: 'X', reason: null, runningVersion: '1.0.0', reportedAt: 6, updatedAt: 13, committedAt: null })).toBe(false)
        expect(await store.rollouts.member('ro1' as RolloutId, 'd1' as DeviceId)).toMatchObject({ state: 'committed', committedAt: 12, runningVersion: '1.0.0' })
        expect((await store.rollouts.members('ro1' as RolloutId, { limit: 10 })).map((m) => [m.deviceId, m.wave, m.state])).toEqual([['d1', 0, 'committed'], ['d2', 1, 'pending']])
        expect((await store.rollouts.members('ro1' as RolloutId, { wave: 1, limit: 10 })).map((m) => m.deviceId)).toEqual(['d2'])
        expect(await store.rollouts.latestForDevice('d2' as DeviceId)).toMatchObject({ rollout: { id: 'ro1' }, member: { wave: 1 } })

        expect(await store.rollouts.update('ro1' as RolloutId, ['paused'], { state: 'aborted', updatedAt: 20 })).toBe(false)
        expect(await store.rollouts.update('ro1' as RolloutId, ['running'], { state: 'halted', reason: 'why', finishedAt: 20, updatedAt: 20 })).toBe(true)
        expect(await store.rollouts.findById('ro1' as RolloutId)).toMatchObject({ state: 'halted', reason: 'why', finishedAt: 20, waves: rollout.waves })
        expect(await store.rollouts.idsInState(['running'])).toEqual([])
        expect((await store.rollouts.list({ state: 'halted', limit: 10 })).map((r) => r.id)).toEqual(['ro1'])
        // Over: the release can go; the rollout keeps its history.
        expect(await store.releases.delete('r1' as ReleaseId)).toBe('deleted')
        expect(await store.releases.delete('r1' as ReleaseId)).toBe('not_found')
        expect((await store.rollouts.findById('ro1' as RolloutId))?.releaseId).toBe('r1')
      }))
  })
}

/**
 * The contract of a ConfigRepository, run on the SQLite store's (above) and
 * on the in-memory one the property test and config benchmark use.
 */
export async function configRepositoryContract(config: ConfigRepository): Promise<void> {
  const doc = (docId: string, bytes: number[], heads: string[], updatedAt: number) => ({ docId, kind: docId.startsWith('group:') ? ('group' as const) : ('device' as const), name: docId.slice(docId.indexOf(':') + 1), bytes: Uint8Array.from(bytes), heads, updatedAt })
  expect(await config.findDocument('group:g')).toBeUndefined()
  await config.saveDocument(doc('group:g', [1, 2, 3], ['h1'], 10))
  await config.saveDocument(doc('device:d1', [9], [], 11))
  expect(await config.findDocument('group:g')).toEqual(doc('group:g', [1, 2, 3], ['h1'], 10))
  // Saving again replaces the bytes, heads and time.
  await config.saveDocument(doc('group:g', [1, 2, 3, 4], ['h2', 'h3'], 20))
  expect(await config.findDocument('group:g')).toEqual(doc('group:g', [1, 2, 3, 4], ['h2', 'h3'], 20))
  expect(await config.findDocument('device:d1')).toEqual(doc('device:d1', [9], [], 11))

  expect(await config.findSyncState('d1', 'group:g')).toBeUndefined()
  await config.saveSyncState('d1', 'group:g', Uint8Array.from([1]), 30)
  await config.saveSyncState('d2', 'group:g', Uint8Array.from([2]), 30)
  await config.saveSyncState('d1', 'device:d1', Uint8Array.from([3]), 30)
  await config.saveSyncState('d1', 'group:g', Uint8Array.from([4, 5]), 31)
  expect(Array.from((await config.findSyncState('d1', 'group:g')) ?? [])).toEqual([4, 5])
  expect(Array.from((await config.findSyncState('d2', 'group:g')) ?? [])).toEqual([2])
  expect(Array.from((await config.findSyncState('d1', 'device:d1')) ?? [])).toEqual([3])
  expect(await config.findSyncState('d2', 'device:d1')).toBeUndefined()

  const report = (heads: string[], status: ConfigReport['status']): ConfigReport => ({
    group: 'g',
    appliedHeads: { group: heads, device: [] },
    appliedAt: status === 'applied' ? 40 : null,
    currentHeads: { group: heads, device: [] },
    status,
    errors: status === 'rejected' ? [{ key: 'rules.0.threshold', code: 'CONFIG_ERR_INVALID', reason: 'not a number', layer: 'group' }] : [],
    pendingRestart: ['mqtt.port'],
  })
  const d1 = 'd1' as DeviceId
  expect(await config.findReport(d1)).toBeUndefined()
  await config.saveReport(d1, report(['h1'], 'applied'), 40)
  await config.saveReport(d1, report(['h2'], 'rejected'), 41)
  expect(await config.findReport(d1)).toEqual({ report: report(['h2'], 'rejected'), reportedAt: 41 })
  expect(await config.findReport('d2' as DeviceId)).toBeUndefined()
  // Only the latest report of each device counts, and only one with errors is listed (the compliance report reads these).
  await config.saveReport('d0' as DeviceId, report(['h1'], 'applied'), 42)
  expect(await config.reportsWithErrors()).toEqual([{ deviceId: 'd1', report: report(['h2'], 'rejected'), reportedAt: 41 }])
  await config.saveReport(d1, report(['h3'], 'applied'), 43)
  expect(await config.reportsWithErrors()).toEqual([])
}
