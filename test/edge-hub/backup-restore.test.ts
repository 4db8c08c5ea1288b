import Database from 'better-sqlite3'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { getJson, getText } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

interface Reading {
  ts: number
  value: number
}

const SENSOR = 'boiler-1'
const METRIC = 'temperature'
/** The outbox's sealing window: readings in a window still open at the backup are raw in it. */
const WINDOW_MS = 4000

// Issue 13, point 3, for real: a `cloudos edge` process and a real hub. The
// edge database is backed up with the documented procedure (sqlite3 .backup
// while the edge runs), more data is produced and uploaded, the backup is
// restored, and more data is produced. Before the fix the restored edge reused
// seqs the hub held and the hub answered `duplicate` for new data (measured:
// 66 acknowledged readings and two critical alerts lost). Now every reading
// and every alert reaches the hub exactly once, and both sides record the event.
describe('restoring edge.db from a backup loses nothing', () => {
  let hub: RealHub
  let tmp: TempDir
  const children: EdgeChild[] = []
  const clients: MqttClient[] = []

  beforeAll(async () => {
    hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    tmp = makeTempDir('cloudos-restore-')
  })
  afterAll(async () => {
    for (const client of clients) await closeQuietly(client)
    for (const child of children) await child.kill()
    await hub?.dispose()
    tmp?.remove()
  })

  function edgeConfig(dir: string): string {
    const file = join(dir, 'edge.json')
    writeFileSync(
      file,
      JSON.stringify({
        anomaly: { enabled: false },
        outbox: { windowMs: WINDOW_MS, sealDelayMs: 0, sealIntervalMs: 200, uploadIntervalMs: 100 },
        hub: { heartbeatIntervalSeconds: 1, backoffInitialMs: 50, backoffMaxMs: 400, requestTimeoutMs: 3000 },
        rules: { 'boiler-hot': { sensor: 'boiler-*', metric: METRIC, max: 90, clearMax: 85, severity: 'critical', cooldownSeconds: 0 } },
      }),
    )
    return file
  }

  async function startEdge(dataDir: string, configFile: string, logs: string[], token?: string): Promise<EdgeChild> {
    const child = await spawnEdge({
      dataDir,
      config: configFile,
      extraArgs: ['--hub', hub.url, ...(token === undefined ? [] : ['--enroll-token', token])],
      onLog: (line) => logs.push(line),
      readyTimeoutMs: 60_000,
    })
    children.push(child)
    return child
  }

  /** Publishes readings at QoS 1: each PUBACK means committed on the edge (acknowledged). */
  async function produce(edge: EdgeChild, readings: Reading[]): Promise<void> {
    const client = await connectMqtt(edge.endpoints.mqttUrl)
    clients.push(client)
    for (const reading of readings) await client.publishAsync(`sensors/${SENSOR}/${METRIC}`, JSON.stringify(reading), { qos: 1 })
    await closeQuietly(client)
  }

  /** A phase: ordinary readings, then one hot reading (a critical alert whose value marks the phase) and a cool one that ends the incident. */
  function phase(start: number, count: number, alertValue: number): Reading[] {
    const readings = Array.from({ length: count }, (_, i) => ({ ts: start + i * 10, value: 20 + (start % 1000) / 1000 + i / 100 }))
    readings.push({ ts: start + count * 10, value: alertValue }, { ts: start + count * 10 + 10, value: 80 })
    return readings
  }

  const hubPoints = async (deviceId: string): Promise<Reading[]> => {
    const answer = await hub.get<{ points: Reading[]; truncated: boolean }>(`/v1/telemetry?device=${deviceId}&sensor=${SENSOR}&metric=${METRIC}&from=0&to=${Date.now() + 3_600_000}`)
    expect(answer.body.truncated).toBe(false)
    return answer.body.points
  }
  const hubAlertValues = async (deviceId: string): Promise<number[]> =>
    (await hub.get<{ alerts: { value: number | null }[] }>(`/v1/alerts?deviceId=${deviceId}&limit=1000`)).body.alerts.map((a) => a.value as number).sort()
  const copiesAtHub = (points: Reading[], reading: Reading) => points.filter((p) => p.ts === reading.ts && p.value === reading.value).length

  /** Waits until the hub holds every reading given and the edge has nothing left to send. */
  async function uploaded(edge: EdgeChild, deviceId: string, readings: Reading[]): Promise<void> {
    await waitFor(async () => {
      const points = await hubPoints(deviceId)
      return readings.every((r) => copiesAtHub(points, r) >= 1)
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'the readings at the hub' })
    await waitFor(async () => {
      const { hub: link } = (await getJson<{ hub: { alertsPending?: number; outbox?: { pendingBatches: number } } }>(edge.endpoints.httpUrl, '/v1/stats')).body
      return link.alertsPending === 0 && link.outbox?.pendingBatches === 0
    }, { timeoutMs: 30_000, intervalMs: 100, what: 'nothing pending on the edge' })
  }

  it('backup (sqlite3 .backup, edge running), produce, stop, restore, start, produce: every reading and alert once at the hub; the event recorded on both sides', async () => {
    const dataDir = join(tmp.path, 'edge')
    mkdirSync(dataDir, { recursive: true })
    const config = edgeConfig(tmp.path)
    const logs: string[] = []
    const { token } = await hub.createEnrolmentToken()
    let edge = await startEdge(dataDir, config, logs, token)
    const deviceId = (await getJson<{ hub: { deviceId: string } }>(edge.endpoints.httpUrl, '/v1/stats')).body.hub.deviceId

    // A: before the backup, uploaded.
    const base = Date.now() - 60_000
    const before = phase(base, 40, 91)
    await produce(edge, before)
    await uploaded(edge, deviceId, before)

    // Readings in a window that is still open when the backup is taken: raw (unsealed) in the backup.
    await waitFor(() => Date.now() % WINDOW_MS < 300, { timeoutMs: WINDOW_MS + 1000, intervalMs: 5, what: 'a fresh sealing window' })
    const openAt = Date.now()
    const openBefore = Array.from({ length: 10 }, (_, i) => ({ ts: openAt + i, value: 50 + i / 10 }))
    await produce(edge, openBefore)

    // The documented backup (docs/operations.md): sqlite3's online backup while the edge runs.
    const backup = join(tmp.path, 'backup.db')
    execFileSync('sqlite3', [join(dataDir, 'edge.db'), `.backup ${backup}`])
    const backupDb = new Database(backup, { readonly: true })
    try {
      expect(backupDb.prepare('SELECT sum(count) FROM reading_chunks').pluck().get()).toBe(openBefore.length)
    } finally {
      backupDb.close()
    }

    // B: after the backup, uploaded (the open window too, sealed with more readings); then the edge stops.
    const openAfter = Array.from({ length: 10 }, (_, i) => ({ ts: openAt + 100 + i, value: 60 + i / 10 }))
    const between = phase(openAt + 200, 40, 92)
    await produce(edge, [...openAfter, ...between])
    await uploaded(edge, deviceId, [...openBefore, ...openAfter, ...between])
    expect(await edge.stop()).toBe(0)

    // Restore: the backup replaces the database (and its WAL), as an operator would.
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `edge.db${suffix}`), { force: true })
    copyFileSync(backup, join(dataDir, 'edge.db'))

    // C: after the restore. The restored database hands out the seqs of B again.
    edge = await startEdge(dataDir, config, logs)
    const after = phase(Date.now(), 40, 93)
    await produce(edge, after)
    await uploaded(edge, deviceId, after)

    // Every reading acknowledged after the restore reaches the hub exactly once; so does everything before.
    const points = await hubPoints(deviceId)
    const all = [...before, ...openBefore, ...openAfter, ...between, ...after]
    for (const reading of all) expect(copiesAtHub(points, reading), JSON.stringify(reading)).toBe(1)
    expect(points).toHaveLength(all.length)
    // One critical alert per phase, each exactly once.
    expect(await hubAlertValues(deviceId)).toEqual([91, 92, 93])

    // The edge recorded it: a log line with the code, a metric, and a row in its database.
    expect(logs.some((line) => line.includes('OUTBOX_ERR_STREAM_RESTORED') && line.includes('"reason":"restored"'))).toBe(true)
    const stats = (await getJson<{ hub: { outbox: { streamEpoch: string } }; lifetime: Record<string, number> }>(edge.endpoints.httpUrl, '/v1/stats')).body
    expect(stats.hub.outbox.streamEpoch).not.toBe('0')
    expect(stats.lifetime['stream_epoch.restored']).toBe(1)
    const metrics = (await getText(edge.endpoints.httpUrl, '/metrics')).body
    expect(metrics).toMatch(/cloudos_edge_stream_epochs_started_total\{reason="restored"\} 1/)
    expect(await edge.stop()).toBe(0)
    const db = new Database(join(dataDir, 'edge.db'), { readonly: true })
    try {
      const epochs = db.prepare('SELECT epoch, reason FROM stream_epochs ORDER BY id').all() as { epoch: string; reason: string }[]
      expect(epochs.map((e) => e.reason)).toEqual(['initial', 'restored'])
    } finally {
      db.close()
    }

    // The hub recorded it: one audit entry for the device's new epoch.
    const audit = (await hub.get<{ entries: { action: string; target: string; details: { epoch: string } }[] }>('/v1/audit?limit=1000')).body.entries
    const epochEntries = audit.filter((e) => e.action === 'device.stream_epoch' && e.target === deviceId)
    expect(epochEntries).toHaveLength(1)
    expect(epochEntries[0]?.details.epoch).not.toBe('0')
  }, 180_000)
})
