import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { runCli } from '../helpers/processes.js'
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/** A real `cloudos edge` child process enrolled with a real hub through a cuttable proxy, edited with the real `cloudos config` CLI. */
describe('config with a real edge process and the cloudos config CLI', () => {
  let hub: RealHub
  let proxy: TcpProxy
  let dir: TempDir
  let edge: EdgeChild
  let deviceId: string
  const hubFlags = () => ['--hub', hub.url, '--token', hub.adminToken, '--ca', hub.caFile]
  const edgeConfig = async () => (await (await fetch(`${edge.endpoints.httpUrl}/v1/config`)).json()) as Record<string, any>

  beforeAll(async () => {
    hub = await startRealHub()
    proxy = await startTcpProxy(hub.port)
    dir = makeTempDir('cloudos-config-child-')
    const { token } = await hub.createEnrolmentToken({ group: 'plant', tier: 'edge' })
    edge = await spawnEdge({ dataDir: dir.path, extraArgs: ['--hub', proxy.httpsUrl, '--enroll-token', token] })
    deviceId = (await edgeConfig()).deviceId
  }, 60_000)
  afterAll(async () => {
    await edge?.stop()
    await proxy?.close()
    await hub?.dispose()
    dir?.remove()
  })

  it('applies an operator edit from the CLI, merges an offline technician edit made with the CLI, and shows the history', async () => {
    const set = await runCli(['config', 'set', ...hubFlags(), '--group', 'plant', 'ingest.maxPayloadBytes=2048'])
    expect(set.code, set.stderr).toBe(0)
    await waitFor(async () => (await edgeConfig()).effective.ingest.maxPayloadBytes === 2048, { what: 'the group edit to apply in the edge process' })

    const refused = await runCli(['config', 'set', ...hubFlags(), '--group', 'plant', 'ingest.maxPayloadBytes=tiny'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('CONFIG_ERR_INVALID_VALUE')

    // On site without the edge's token (no --data-dir): refused, nothing changed.
    const noToken = await runCli(['config', 'set', '--edge', edge.endpoints.httpUrl, 'storage.retentionDays=1'])
    expect(noToken.code).not.toBe(0)
    expect(noToken.stderr).toContain('API_ERR_UNAUTHORIZED')
    expect(noToken.stderr).toContain('--data-dir')
    expect((await edgeConfig()).effective.storage.retentionDays).toBe(30)

    proxy.partition()
    const onSite = await runCli(['config', 'set', '--edge', edge.endpoints.httpUrl, '--data-dir', dir.path, '--user', 'tech-on-site', 'storage.retentionDays=5', 'hub.alertBatchSize=20'])
    expect(onSite.code, onSite.stderr).toBe(0)
    expect((await edgeConfig()).effective.storage.retentionDays).toBe(5)
    const atHub = await runCli(['config', 'set', ...hubFlags(), '--device', deviceId, 'storage.maxBytes=2097152', 'hub.alertBatchSize=30'])
    expect(atHub.code, atHub.stderr).toBe(0)
    proxy.heal()

    const converged = await waitFor(async () => {
      const hubView = await hub.get<Record<string, any>>(`/v1/config/devices/${deviceId}`)
      const local = await edgeConfig()
      return JSON.stringify([...local.currentHeads.device].sort()) === JSON.stringify([...hubView.body.heads].sort()) && hubView.body.twin.inSync ? { local, hubView } : undefined
    }, { timeoutMs: 20_000, what: 'edge process and hub to converge' })
    expect(converged.local.layers.device).toEqual(converged.hubView.body.values)
    expect(converged.local.effective.storage).toMatchObject({ retentionDays: 5, maxBytes: 2097152 })
    expect([20, 30]).toContain(converged.local.effective.hub.alertBatchSize)

    const history = await runCli(['config', 'history', ...hubFlags(), '--device', deviceId, '--json'])
    expect(history.code, history.stderr).toBe(0)
    const changes = (JSON.parse(history.stdout) as { changes: { user: string; origin: string }[] }).changes
    expect(changes.map((c) => `${c.user}@${c.origin}`).sort()).toEqual([`tech-on-site@edge:${deviceId}`, 'user:admin@hub'])

    const effective = await runCli(['config', 'get', ...hubFlags(), '--device', deviceId, '--effective', '--json'])
    expect(JSON.parse(effective.stdout).effective.ingest.maxPayloadBytes).toBe(2048)
  }, 90_000)
})
