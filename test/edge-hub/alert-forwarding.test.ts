import { afterEach, describe, expect, it } from 'vitest'
import { resolveEdgeConfigForTest } from './link-fixtures.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { HealthSampler } from '../../edge/hub-link/health-sampler.js'
import { HubLink } from '../../edge/hub-link/hub-link.js'
import { AlertStore, type NewAlert } from '../../edge/store/alert-store.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { LATEST_SCHEMA_VERSION } from '../../edge/store/migrations.js'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { silentLogger } from '../../shared/log/logger.js'
import { makeTempDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { startContractHub, type ContractHub } from '../harness/contract-hub.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

function edgeDb(): SqliteDatabase {
  const dir = makeTempDir('cloudos-alerts-')
  const db = openEdgeDatabase({ dataDir: dir.path, synchronous: 'normal' })
  cleanups.push(() => dir.remove(), () => db.close())
  return db
}

const alert = (n: number, extra: Partial<NewAlert> = {}): NewAlert => ({
  sensorId: `s-${n % 3}`,
  metric: 'temperature',
  severity: 'warning',
  rule: 'temperature-high',
  value: 80 + n,
  message: `alert ${n}`,
  ...extra,
})

describe('AlertStore (edge DB, migration 2)', () => {
  it('stores alerts with increasing seqs, lists them, and tracks what was forwarded', () => {
    const db = edgeDb()
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(2)
    const store = new AlertStore(db, () => 1_700_000_000_000)
    const raised: number[] = []
    store.on('raised', (a) => raised.push(a.seq))
    const first = store.raise(alert(1))
    expect(first).toEqual({ seq: 1, raisedAt: 1_700_000_000_000, sensorId: 's-1', metric: 'temperature', severity: 'warning', rule: 'temperature-high', value: 81, message: 'alert 1', forwardedAt: null, clearedAt: null })
    for (let n = 2; n <= 5; n++) store.raise(alert(n, { raisedAt: 1_700_000_000_000 + n }))
    expect(raised).toEqual([1, 2, 3, 4, 5])
    expect(store.unforwarded(3).map((a) => a.seq)).toEqual([1, 2, 3])
    expect(store.markForwarded(1, 3, 42)).toBe(3)
    expect(store.markForwarded(1, 3, 43)).toBe(0) // already marked: the first mark stands
    expect(store.unforwarded(10).map((a) => a.seq)).toEqual([4, 5])
    expect(store.counts()).toEqual({ total: 5, pending: 2 })
    expect(store.list(2).map((a) => [a.seq, a.forwardedAt])).toEqual([
      [5, null],
      [4, null],
    ])
    expect(store.list(10).at(-1)).toMatchObject({ seq: 1, forwardedAt: 42 })
  })

  it('never reuses a seq, even after the newest rows are deleted (the hub dedups by seq)', () => {
    const db = edgeDb()
    const store = new AlertStore(db)
    store.raise(alert(1))
    store.raise(alert(2))
    db.exec('DELETE FROM alerts')
    expect(store.raise(alert(3)).seq).toBe(3)
  })

  it('refuses a malformed alert, naming the field', () => {
    const store = new AlertStore(edgeDb())
    expect(() => store.raise(alert(1, { severity: 'fatal' as never }))).toThrow(/severity must be one of info, warning, critical/)
    expect(() => store.raise(alert(1, { sensorId: 'a/b' }))).toThrow(/sensorId/)
    expect(() => store.raise(alert(1, { value: Number.NaN }))).toThrow(/value must be a finite number/)
    expect(() => store.raise(alert(1, { message: '' }))).toThrow(/message/)
    expect(store.counts().total).toBe(0)
  })
})

interface LinkSetup {
  hub: ContractHub
  store: AlertStore
  link: HubLink
  stored: { value: number }
}

async function linkToContractHub(options: { heartbeatIntervalSeconds?: number; alertBatchSize?: number } = {}): Promise<LinkSetup> {
  const keys = generateDeviceKeyPair()
  const hub = await startContractHub(new Map([['dev-1', encodePublicKey(keys.publicKey)]]))
  cleanups.push(() => hub.close())
  const store = new AlertStore(edgeDb())
  const stored = { value: 0 }
  const config = resolveEdgeConfigForTest({ url: hub.url, heartbeatIntervalSeconds: options.heartbeatIntervalSeconds ?? 1, backoffInitialMs: 20, backoffMaxMs: 100, alertBatchSize: options.alertBatchSize ?? 100, requestTimeoutMs: 1000 })
  hub.heartbeatIntervalSeconds = config.heartbeatIntervalSeconds
  const link = new HubLink({
    client: new HubClient({ url: hub.url, insecureHttp: true, timeoutMs: config.requestTimeoutMs, credentials: { deviceId: 'dev-1', privateKey: keys.privateKey } }),
    deviceId: 'dev-1',
    alerts: store,
    health: new HealthSampler({ readingsStored: () => stored.value, readingsRejected: () => 0, queueDepth: () => 0, dbSizeBytes: () => 1, uptimeSeconds: () => 1, runtimeVersion: '0.1.0' }),
    config,
    log: silentLogger,
  })
  cleanups.push(() => link.stop())
  return { hub, store, link, stored }
}

describe('HubLink against the hub contract', () => {
  it('heartbeats at once and then every interval, with the health body of the contract', async () => {
    const { hub, link } = await linkToContractHub()
    link.start()
    await waitFor(() => hub.heartbeats.length >= 2, { timeoutMs: 5000, what: 'two heartbeats' })
    expect(link.status()).toMatchObject({ state: 'online', deviceId: 'dev-1', failures: 0, lastError: null, heartbeatIntervalSeconds: 1 })
    expect(Object.keys(hub.heartbeats[0] as object).sort()).toEqual(
      ['uptimeSeconds', 'queueDepth', 'dbSizeBytes', 'readingsPerSecond', 'rejectedPerSecond', 'cpuPercent', 'memoryBytes', 'versions'].sort(),
    )
    expect(hub.badSignatures).toBe(0)
  })

  it('forwards alerts promptly while online, in seq order, in batches', async () => {
    const { hub, store, link } = await linkToContractHub({ heartbeatIntervalSeconds: 60, alertBatchSize: 3 })
    link.start()
    await waitFor(() => link.state === 'online', { what: 'online' })
    for (let n = 1; n <= 8; n++) store.raise(alert(n))
    await waitFor(() => hub.storedSeqs.length === 8, { timeoutMs: 5000, what: 'eight alerts at the hub' })
    expect(hub.storedSeqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    await waitFor(() => store.counts().pending === 0, { what: 'all marked forwarded' })
    expect(hub.duplicates).toBe(0)
  })

  it('goes offline with backoff when the hub fails, and catches up in order without duplicates when it is back', async () => {
    const { hub, store, link } = await linkToContractHub({ alertBatchSize: 4 })
    link.start()
    await waitFor(() => link.state === 'online', { what: 'online' })
    hub.failWith = 503
    store.raise(alert(1))
    await waitFor(() => link.state === 'offline', { what: 'offline' })
    for (let n = 2; n <= 10; n++) store.raise(alert(n))
    await sleep(300)
    expect(link.status()).toMatchObject({ state: 'offline', alertsPending: 10 })
    expect(link.status().failures).toBeGreaterThan(1)
    expect(hub.storedSeqs).toEqual([])
    hub.failWith = undefined
    await waitFor(() => store.counts().pending === 0, { timeoutMs: 5000, what: 'alerts forwarded after the outage' })
    expect(hub.storedSeqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(hub.duplicates).toBe(0)
    expect(link.state).toBe('online')
  })

  it('resends a batch whose answer was lost; the hub counts it as a duplicate and shows each alert once', async () => {
    const { hub, store, link } = await linkToContractHub({ heartbeatIntervalSeconds: 60 })
    link.start()
    await waitFor(() => link.state === 'online', { what: 'online' })
    hub.dropNextAlertAnswer = true
    store.raise(alert(1))
    store.raise(alert(2))
    await waitFor(() => store.counts().pending === 0, { timeoutMs: 5000, what: 'alerts marked after the resend' })
    expect(hub.storedSeqs).toEqual([1, 2])
    expect(hub.duplicates).toBe(2)
  })

  it('stops for good when the hub says the device is revoked', async () => {
    const { hub, link } = await linkToContractHub()
    link.start()
    await waitFor(() => link.state === 'online', { what: 'online' })
    hub.failWith = 403
    await waitFor(() => link.state === 'revoked', { timeoutMs: 5000, what: 'revoked' })
    const count = hub.heartbeats.length
    hub.failWith = undefined
    await sleep(1500)
    expect(hub.heartbeats.length).toBe(count)
    expect(link.status()).toMatchObject({ state: 'revoked', lastError: expect.stringContaining('HUB_ERR_DEVICE_REVOKED') })
  })

  it('adopts the interval the hub asks for', async () => {
    const { hub, link } = await linkToContractHub({ heartbeatIntervalSeconds: 60 })
    hub.heartbeatIntervalSeconds = 1
    link.start()
    await waitFor(() => hub.heartbeats.length >= 2, { timeoutMs: 4000, what: 'a second heartbeat within the hub interval' })
    expect(link.status().heartbeatIntervalSeconds).toBe(1)
  })
})
