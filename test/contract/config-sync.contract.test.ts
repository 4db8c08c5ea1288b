import { describe, expect, it } from 'vitest'
import { ConfigAgent } from '../../edge/config-sync/config-agent.js'
import { ConfigReplicaStore } from '../../edge/config-sync/config-replica-store.js'
import { ConfigSyncLoop } from '../../edge/config-sync/config-sync-loop.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { HubClient } from '../../edge/hub-link/hub-client.js'
import { openEdgeDatabase } from '../../edge/store/database.js'
import { generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { CONFIG_SYNC_PATH, configReportExchange, configSyncExchange } from '../../shared/protocol/config-sync.js'
import { waitFor } from '../helpers/wait.js'
import { quietLogger, startMisbehavingHub, useContractSetup } from './contract-fixture.js'

const settings = () => ({ longPollSeconds: 1, requestTimeoutMs: 3000, backoffInitialMs: 20, backoffMaxMs: 100 })

describe('contract: config sync (POST /v1/devices/me/config/sync) and report (POST /v1/devices/me/config/report)', () => {
  const setup = useContractSetup()

  it('the sync loop brings a hub edit to the edge and reports it applied; every answer matches the shared schema', async () => {
    const edge = await setup.enrolEdge({ group: 'contract-config' })
    const store = new ConfigReplicaStore(edge.db)
    const log = quietLogger()
    const agent = new ConfigAgent({ store, fileConfig: loadEdgeConfig(undefined, {}), deviceId: edge.identity.deviceId, group: edge.identity.group, log })
    agent.startupConfig()
    const loop = new ConfigSyncLoop({ client: edge.client, agent, store, log, settings })
    const edit = await setup.hub.fetch(`${setup.hub.url}/v1/config/groups/contract-config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${setup.hub.adminToken}` },
      body: JSON.stringify({ set: { 'ingest.maxPayloadBytes': 2048 } }),
    })
    expect(edit.status).toBe(200)
    loop.start()
    try {
      await waitFor(() => agent.config.ingest.maxPayloadBytes === 2048, { timeoutMs: 15_000 })
      await waitFor(() => edge.client.answersTo(configReportExchange).some((a) => a.inSync), { timeoutMs: 15_000 })
    } finally {
      await loop.stop()
    }
    const syncs = edge.client.answersTo(configSyncExchange)
    expect(syncs.length).toBeGreaterThan(0)
    expect(syncs[0]).toMatchObject({ deviceId: edge.identity.deviceId, group: 'contract-config' })
    expect(syncs.some((a) => a.messages.group !== null)).toBe(true)
    expect(loop.status()).toMatchObject({ lastError: null })
  })

  it('a hub answering the wrong shape: the loop records EDGE_ERR_HUB_ANSWER_INVALID, keeps the local config and retries with backoff', async () => {
    const standIn = await startMisbehavingHub([{ method: 'POST', path: CONFIG_SYNC_PATH, answer: () => ({ deviceId: 'dev-x', messages: { device: 7 } }) }])
    const db = openEdgeDatabase({ dataDir: `${setup.tmp.path}/config-bad`, synchronous: 'normal' })
    const store = new ConfigReplicaStore(db)
    const log = quietLogger()
    const agent = new ConfigAgent({ store, fileConfig: loadEdgeConfig(undefined, {}), deviceId: 'dev-stand-in', group: 'g', log })
    const before = agent.startupConfig()
    const client = new HubClient({ url: standIn.url, insecureHttp: true, timeoutMs: 2000, credentials: { deviceId: 'dev-stand-in', privateKey: generateDeviceKeyPair().privateKey } })
    const loop = new ConfigSyncLoop({ client, agent, store, log, settings })
    loop.start()
    try {
      await waitFor(() => (standIn.calls.get(CONFIG_SYNC_PATH) ?? 0) >= 3, { timeoutMs: 10_000 })
      // Between retries the state is offline; a retry in flight shows syncing. It never synced.
      expect(loop.status()).toMatchObject({ state: expect.stringMatching(/^(offline|syncing)$/), lastSyncAt: null, lastError: expect.stringMatching(/config sync .*does not match the wire contract/) })
      expect(agent.config).toEqual(before)
    } finally {
      await loop.stop()
      client.close()
      db.close()
      await standIn.app.close()
    }
  })
})
