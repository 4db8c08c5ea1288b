import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HUB_DB_FILE } from '../../cloud/store/sqlite-database.js'
import { fillOfflineBacklog, type FilledBacklog } from '../../bench/sync/sync-setup.js'
import { DEVICE_IDENTITY_FILE } from '../../edge/hub-link/device-identity.js'
import { EDGE_WITH_FAULTS, harnessEntry } from '../harness/fault-entries.js'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { getJson } from '../helpers/http.js'
import { closeQuietly, connectMqtt } from '../helpers/mqtt-client.js'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'

interface Reading {
  ts: number
  value: number
}

// Real edge processes (`cloudos edge`, built CLI) with an offline backlog
// uploading to a real hub over loopback: crashes at the worst moment, cut
// connections and a hub outage must leave the hub with every accepted
// reading exactly once.
describe('outbox upload to a real hub', () => {
  let hub: RealHub
  let tmp: TempDir
  let n = 0
  const children: EdgeChild[] = []
  const edgeConfig = (dir: string) => {
    const file = join(dir, 'edge.json')
    writeFileSync(
      file,
      JSON.stringify({
        outbox: { windowMs: 1000, sealDelayMs: 0, sealIntervalMs: 200, uploadIntervalMs: 100 },
        hub: { backoffInitialMs: 50, backoffMaxMs: 400, requestTimeoutMs: 3000 },
      }),
    )
    return file
  }
  const deviceIdOf = (dir: string) => (JSON.parse(readFileSync(join(dir, DEVICE_IDENTITY_FILE), 'utf8')) as { deviceId: string }).deviceId
  const hubState = async (deviceId: string) => (await hub.get<{ lastSeq: number; batches: number; readings: number; droppedReadings: number }>(`/v1/devices/${deviceId}/telemetry`)).body
  const hubSeries = async (deviceId: string, key: string) => {
    const [sensor, metric] = key.split('/') as [string, string]
    const answer = await hub.get<{ points: Reading[]; truncated: boolean }>(`/v1/telemetry?device=${deviceId}&sensor=${sensor}&metric=${metric}&from=0&to=${Date.now() + 3_600_000}`)
    expect(answer.body.truncated).toBe(false)
    return answer.body.points
  }
  /** Every reading the edge holds for a series (its local API), oldest first. */
  const edgeSeries = async (edge: EdgeChild, key: string) => {
    const [sensor, metric] = key.split('/') as [string, string]
    // The local API adds each reading's anomaly score; the hub holds ts and value.
    const { readings } = (await getJson<{ readings: Reading[] }>(edge.endpoints.httpUrl, `/v1/readings?sensor=${sensor}&metric=${metric}&limit=100000`)).body
    return readings.map(({ ts, value }) => ({ ts, value }))
  }
  /** Batch seqs in the order the hub stored them. */
  const storedSeqs = (deviceId: string) => {
    const db = new Database(join(hub.dataDir, HUB_DB_FILE), { readonly: true })
    try {
      return (db.prepare('SELECT seq FROM telemetry_batches WHERE device_id = ? ORDER BY id').all(deviceId) as { seq: number }[]).map((r) => r.seq)
    } finally {
      db.close()
    }
  }

  function filledDataDir(hours: number, sensors: number): { dir: string; backlog: FilledBacklog } {
    const dir = join(tmp.path, `edge-${n++}`)
    const backlog = fillOfflineBacklog(dir, { hours, sensors, readingsPerSecond: 10, seed: n })
    expect(backlog.dropped).toBe(0)
    expect(backlog.batches).toBeGreaterThan(3)
    return { dir, backlog }
  }

  async function startEdge(dir: string, hubUrl: string, token: string | undefined, env?: NodeJS.ProcessEnv): Promise<EdgeChild> {
    const child = await spawnEdge({
      dataDir: dir,
      config: edgeConfig(dir),
      extraArgs: ['--hub', hubUrl, ...(token === undefined ? [] : ['--enroll-token', token])],
      ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
    })
    children.push(child)
    return child
  }

  beforeAll(async () => {
    hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    tmp = makeTempDir('cloudos-outbox-e2e-')
  })
  afterAll(async () => {
    for (const child of children) await child.kill()
    await hub.dispose()
    tmp.remove()
  })

  it('a crash after the hub committed a batch but before the edge recorded it: the re-upload is a duplicate and every reading is held once', async () => {
    const { dir, backlog } = filledDataDir(0.5, 4)
    const { token } = await hub.createEnrolmentToken()
    // The edge may die before or after its ready line, depending on how soon its first upload goes out.
    // The fault-point entry (test/harness/edge-with-faults.ts): `cloudos edge` that dies like kill -9 after the hub's 200.
    const crashing = spawn(process.execPath, [harnessEntry(EDGE_WITH_FAULTS), 'edge', '--data-dir', dir, '--config', edgeConfig(dir), '--hub', hub.url, '--enroll-token', token], {
      env: { ...process.env, CLOUDOS_TEST_OUTBOX_CRASH_AFTER_ACK: '1' },
      stdio: 'ignore',
    })
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => crashing.once('exit', (_code, sig) => resolve(sig)))
    expect(signal).toBe('SIGKILL')
    const deviceId = deviceIdOf(dir)
    // The hub committed batch 1; the edge never recorded it.
    expect(await hubState(deviceId)).toMatchObject({ lastSeq: 1, batches: 1 })
    const edgeDb = new Database(join(dir, 'edge.db'), { readonly: true })
    expect(edgeDb.prepare('SELECT uploaded_at FROM outbox_batches WHERE seq = 1').get()).toEqual({ uploaded_at: null })
    edgeDb.close()

    const edge = await startEdge(dir, hub.url, undefined)
    await waitFor(async () => (await hubState(deviceId)).readings >= backlog.readings, { timeoutMs: 60_000 })
    await waitFor(async () => ((await getJson<{ hub: { outbox?: { pendingBatches: number } } }>(edge.endpoints.httpUrl, '/v1/stats')).body.hub.outbox?.pendingBatches ?? 1) === 0, { timeoutMs: 20_000 })
    expect(await hubState(deviceId)).toMatchObject({ readings: backlog.readings, batches: backlog.batches, lastSeq: backlog.batches })
    const metrics = await (await hub.fetch(`${hub.url}/metrics`)).text()
    expect(metrics).toMatch(/cloudos_hub_telemetry_batches_total\{outcome="duplicate"\} 1\b/)
    expect(storedSeqs(deviceId)).toEqual(Array.from({ length: backlog.batches }, (_, i) => i + 1))
    for (const key of backlog.perSeries.keys()) {
      const atHub = await hubSeries(deviceId, key)
      expect(atHub.length).toBe(backlog.perSeries.get(key))
      expect(atHub).toEqual(await edgeSeries(edge, key))
    }
    await edge.stop()
  }, 180_000)

  it('a connection cut mid-upload and a hub outage: after recovery the hub holds exactly the accepted readings, each once, in order', async () => {
    const { dir, backlog } = filledDataDir(1, 8)
    const proxy: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: hub.port })
    try {
      const { token } = await hub.createEnrolmentToken()
      // Enrolment goes through the proxy too; cut only once uploads are under way.
      let cutAt = -1
      proxy.onUpload((bytesUp) => {
        if (cutAt < 0 && bytesUp > 120_000) {
          cutAt = bytesUp
          proxy.cut()
          proxy.refuse(true)
        }
      })
      const edge = await startEdge(dir, proxy.httpsUrl, token)
      const deviceId = await waitFor(() => {
        try {
          return deviceIdOf(dir)
        } catch {
          return undefined
        }
      })
      await waitFor(() => cutAt > 0, { timeoutMs: 60_000 })
      // The hub goes down too, while the edge keeps accepting live readings.
      await hub.stop()
      const mqtt = await connectMqtt(edge.endpoints.mqttUrl)
      const live: Reading[] = []
      for (let i = 0; i < 50; i++) {
        const reading = { ts: Date.now() - 1000 + i, value: Math.round(i * 1.37 * 100) / 100 }
        live.push(reading)
        await mqtt.publishAsync('sensors/live-1/temperature', JSON.stringify(reading), { qos: 1 })
      }
      await closeQuietly(mqtt)
      await sleep(1500)
      const during = await getJson<{ hub: { state: string; outbox?: { pendingBatches: number } } }>(edge.endpoints.httpUrl, '/v1/stats')
      expect(during.body.hub.state).toBe('offline')
      expect(during.body.hub.outbox?.pendingBatches).toBeGreaterThan(0)
      await hub.start()
      proxy.refuse(false)

      const expected = backlog.readings + live.length
      await waitFor(async () => (await hubState(deviceId)).readings >= expected, { timeoutMs: 90_000 })
      await waitFor(async () => ((await getJson<{ hub: { outbox?: { pendingBatches: number } } }>(edge.endpoints.httpUrl, '/v1/stats')).body.hub.outbox?.pendingBatches ?? 1) === 0, { timeoutMs: 20_000 })
      const state = await hubState(deviceId)
      expect(state.readings).toBe(expected)
      expect(state.droppedReadings).toBe(0)
      const seqs = storedSeqs(deviceId)
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
      for (const key of [...backlog.perSeries.keys(), 'live-1/temperature']) {
        const atHub = await hubSeries(deviceId, key)
        const atEdge = await edgeSeries(edge, key)
        expect(atHub.length, key).toBe(key === 'live-1/temperature' ? live.length : backlog.perSeries.get(key))
        expect(atHub, key).toEqual(atEdge)
      }
      expect(await hubSeries(deviceId, 'live-1/temperature')).toEqual(live)
      const metrics = await (await fetch(`${edge.endpoints.httpUrl}/metrics`)).text()
      expect(metrics).toMatch(/cloudos_edge_readings_dropped_total\{reason="budget"\} 0\b/)
      expect(metrics).toMatch(/cloudos_edge_outbox_pending_readings 0\b/)
      await edge.stop()
    } finally {
      await proxy.close()
    }
  }, 240_000)
})
