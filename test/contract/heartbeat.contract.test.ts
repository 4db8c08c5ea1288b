import { describe, expect, it } from 'vitest'
import { HealthSampler } from '../../edge/hub-link/health-sampler.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { HubLink } from '../../edge/hub-link/hub-link.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { AlertStore } from '../../edge/store/alert-store.js'
import { generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { HEARTBEAT_PATH, heartbeatExchange, type HeartbeatBody } from '../../shared/protocol/heartbeat.js'
import { resolveEdgeConfigForTest } from '../edge-hub/link-fixtures.js'
import { waitFor } from '../helpers/wait.js'
import { quietLogger, startMisbehavingHub, useContractSetup } from './contract-fixture.js'

const health = () =>
  new HealthSampler({ readingsStored: () => 0, readingsRejected: () => 0, queueDepth: () => 3, dbSizeBytes: () => 4096, uptimeSeconds: () => 12, runtimeVersion: '9.9.9' })

describe('contract: heartbeat (POST /v1/devices/me/heartbeat)', () => {
  const setup = useContractSetup()

  it('the hub link heartbeats the real hub: the hub stores the body as sent, the answer matches the shared schema', async () => {
    const edge = await setup.enrolEdge()
    const link = new HubLink({
      client: edge.client,
      deviceId: edge.identity.deviceId,
      alerts: new AlertStore(edge.db),
      health: health(),
      config: resolveEdgeConfigForTest({ url: setup.hub.url, heartbeatIntervalSeconds: 60 }),
      log: quietLogger(),
    })
    link.start()
    try {
      await waitFor(() => link.status().state === 'online', { timeoutMs: 10_000 })
    } finally {
      await link.stop()
    }
    const [answer] = edge.client.answersTo(heartbeatExchange)
    // The hub's fleet.heartbeatIntervalSeconds (10 by default) is adopted from the answer.
    expect(answer).toEqual({ ok: true, heartbeatIntervalSeconds: 10 })
    expect(link.status().heartbeatIntervalSeconds).toBe(10)
    const stored = await setup.hub.get<{ history: (HeartbeatBody & { at: string })[] }>(`/v1/devices/${edge.identity.deviceId}/health`)
    expect(stored.status).toBe(200)
    // What the edge sends, field for field: queueDepth and versions.runtime included.
    expect(stored.body.history[0]).toMatchObject({ queueDepth: 3, dbSizeBytes: 4096, uptimeSeconds: 12, versions: { runtime: '9.9.9' } })
  })

  it('a hub answering the wrong shape: the link goes offline with EDGE_ERR_HUB_ANSWER_INVALID, retries with backoff, and comes online once the answer is right', async () => {
    let answer: unknown = { ok: 'yes', heartbeatIntervalSeconds: 'soon' }
    const standIn = await startMisbehavingHub([{ method: 'POST', path: HEARTBEAT_PATH, answer: () => answer }])
    const db = openEdgeDatabase({ dataDir: `${setup.tmp.path}/stand-in`, synchronous: 'normal' })
    const client = new HubClient({ url: standIn.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-stand-in', privateKey: generateDeviceKeyPair().privateKey } })
    const log = quietLogger()
    const link = new HubLink({
      client,
      deviceId: 'dev-stand-in',
      alerts: new AlertStore(db),
      health: health(),
      config: resolveEdgeConfigForTest({ url: standIn.url, heartbeatIntervalSeconds: 60, backoffInitialMs: 20, backoffMaxMs: 100 }),
      log,
      random: () => 0.5,
    })
    link.start()
    try {
      await waitFor(() => (link.status().failures ?? 0) >= 3, { timeoutMs: 10_000 })
      expect(link.status()).toMatchObject({ state: 'offline', lastError: expect.stringMatching(/heartbeat .*does not match the wire contract: \/ok .*\/heartbeatIntervalSeconds/) })
      expect(log.lines.join('\n')).toContain('hub exchange failed: link offline, retrying with backoff')
      answer = { ok: true, heartbeatIntervalSeconds: 7 }
      await waitFor(() => link.status().state === 'online', { timeoutMs: 10_000 })
      expect(link.status()).toMatchObject({ failures: 0, lastError: null, heartbeatIntervalSeconds: 7 })
    } finally {
      await link.stop()
      db.close()
      await standIn.app.close()
    }
  })
})
