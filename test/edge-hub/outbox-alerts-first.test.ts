import { Value } from '@sinclair/typebox/value'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEdgeStores } from '../../bench/sync/edge-stores.js'
import { defaultOutboxConfig } from '../../bench/sync/sync-setup.js'
import { HubLinkConfigSchema, type HubLinkConfig } from '../../shared/config/edge-config-schema.js'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import { HealthSampler } from '../../edge/hub-link/health-sampler.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { createHubTransport } from '../../edge/hub-link/hub-transport.js'
import { HubLink } from '../../edge/hub-link/hub-link.js'
import { silentLogger } from '../../shared/log/logger.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'

// The hub link forwards alerts before every telemetry batch: a backlog of
// batches never delays an alert raised meanwhile. Real hub over HTTP; the
// client's fetch is wrapped only to record the order of requests.
describe('alerts travel before telemetry', () => {
  let hub: RealHub
  let tmp: TempDir
  beforeAll(async () => {
    hub = await startRealHub({ config: { enrolment: { minimums: { freeDiskBytes: 0, memoryBytes: 0 } } } })
    tmp = makeTempDir('cloudos-outbox-alerts-')
  })
  afterAll(async () => {
    await hub.dispose()
    tmp.remove()
  })

  it('sends pending alerts first, and an alert raised during a backlog upload before the next batch', async () => {
    const dataDir = tmp.path
    const config = { ...defaultOutboxConfig(), windowMs: 1000, sealDelayMs: 0 }
    const stores = openEdgeStores(dataDir, config)
    const link: { current?: HubLink } = {}
    try {
      const start = Date.now() - 60_000
      for (let w = 0; w < 3; w++) {
        stores.sink.commit([{ key: { sensorId: 'press-1', metric: 'pressure' }, timestamps: [start + w * 1000, start + w * 1000 + 500], values: [6.5 + w, 6.6 + w] }], 2)
      }
      expect(stores.outbox.seal(Date.now()).batches).toBe(3)
      const raise = (message: string) => stores.alerts.raise({ sensorId: 'press-1', metric: 'pressure', severity: 'critical', rule: 'over-pressure', value: 9.9, message })
      raise('first')
      raise('second')

      const { token } = await hub.createEnrolmentToken()
      const identity = await ensureEnrolled({ dataDir, hubUrl: hub.url, enrolmentToken: token, timeoutMs: 5000, log: silentLogger })
      const sent: string[] = []
      let batchesAnswered = 0
      // The pinned transport the edge uses, with a record of each path.
      const pinned = createHubTransport({ hubCaPem: identity.hubCaPem })
      const recordingFetch: typeof fetch = async (input, init) => {
        const path = new URL(String(input)).pathname
        const response = await pinned.fetch(input, init)
        sent.push(path)
        // An alert raised while the backlog is going up.
        if (path === '/v1/telemetry/batches' && ++batchesAnswered === 1) raise('during upload')
        return response
      }
      const hubConfig: HubLinkConfig = { ...(Value.Default(HubLinkConfigSchema, {}) as HubLinkConfig), url: hub.url }
      const client = new HubClient({ url: hub.url, timeoutMs: 5000, credentials: { deviceId: identity.deviceId, privateKey: identity.privateKey }, fetch: recordingFetch })
      link.current = new HubLink({
        client,
        deviceId: identity.deviceId,
        alerts: stores.alerts,
        health: new HealthSampler({ readingsStored: () => 0, readingsRejected: () => 0, queueDepth: () => 0, dbSizeBytes: () => 0, uptimeSeconds: () => 1, runtimeVersion: 'test' }),
        config: hubConfig,
        log: silentLogger,
        outbox: stores.outbox.linkFor(client),
      })
      link.current.start()
      await waitFor(() => stores.outbox.store.counts().pendingBatches === 0 && stores.alerts.counts().pending === 0, { timeoutMs: 20_000 })
      expect(sent.filter((p) => p !== '/v1/devices/me/heartbeat')).toEqual([
        '/v1/devices/me/alerts',
        '/v1/telemetry/batches',
        '/v1/devices/me/alerts',
        '/v1/telemetry/batches',
        '/v1/telemetry/batches',
      ])
      const alerts = await hub.get<{ alerts: { message: string }[] }>(`/v1/alerts?deviceId=${identity.deviceId}`)
      expect(alerts.body.alerts.map((a) => a.message).sort()).toEqual(['during upload', 'first', 'second'])
      const state = await hub.get<{ lastSeq: number; readings: number }>(`/v1/devices/${identity.deviceId}/telemetry`)
      expect(state.body).toMatchObject({ lastSeq: 3, readings: 6 })
      expect(link.current.status().outbox).toMatchObject({ pendingBatches: 0, confirmedSeq: 3 })
    } finally {
      await link.current?.stop()
      stores.close()
    }
  }, 60_000)
})
