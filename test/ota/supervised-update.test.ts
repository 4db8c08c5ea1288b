import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { otaPaths } from '../../edge/ota/ota-paths.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { startOtaTestHub, type OtaTestHub } from '../harness/ota-test-hub.js'
import { buildRuntimeBundle, healthy, startSupervised, writeEdgeConfig, type SupervisedEdge } from '../harness/supervised-edge.js'

// Real processes throughout: `cloudos supervise` (built CLI) starting
// `cloudos edge` children from A/B slots, a real HTTP hub serving the
// target and the bundle with Range, runtime bundles built from this repo's
// own dist/ with `cloudos firmware build`.
describe('supervised edge: A/B runtime updates with trial and rollback', () => {
  let tmp: TempDir
  let hub: OtaTestHub
  let keyPath: string
  let pubPath: string
  let good: string
  let bad: string
  const running: SupervisedEdge[] = []
  const log: string[] = []

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-ota-')
    const keys = await runCli(['firmware', 'keygen', '--out', tmp.path])
    expect(keys.code).toBe(0)
    keyPath = join(tmp.path, 'release-key.pem')
    pubPath = join(tmp.path, 'release-key.pub.pem')
    good = await buildRuntimeBundle(tmp.path, { version: '0.2.0', keyPath })
    bad = await buildRuntimeBundle(tmp.path, { version: '0.3.0', keyPath, crashOnStart: true })
    hub = await startOtaTestHub()
  }, 120_000)

  afterAll(async () => {
    for (const edge of running) await edge.powerCut()
    await hub?.close()
    tmp?.remove()
  })

  function supervise(dataDir: string, faults?: NodeJS.ProcessEnv, ota: Record<string, unknown> = {}): SupervisedEdge {
    const config = writeEdgeConfig(join(tmp.path, `config-${running.length}.json`), pubPath, ota)
    const edge = startSupervised({ dataDir, config, hubUrl: hub.url, ...(faults === undefined ? {} : { faults }), log })
    running.push(edge)
    return edge
  }

  async function waitForState(releaseId: string, state: string, timeoutMs = 60_000): Promise<void> {
    try {
      await waitFor(() => hub.reportsFor(releaseId).includes(state), { timeoutMs, intervalMs: 100, what: `report ${state} for ${releaseId}` })
    } catch (err) {
      throw new Error(`${(err as Error).message}; reports: ${hub.reportsFor(releaseId).join(',')}; log tail:\n${log.slice(-25).join('\n')}`)
    }
  }

  it('updates to a good runtime (commits, reports success), then rolls back automatically from one that crashes on start', async () => {
    const dataDir = join(tmp.path, 'edge-main')
    hub.setTarget({ path: good, name: 'cloudos-runtime', version: '0.2.0', kind: 'runtime' })
    const edge = supervise(dataDir)
    await waitForState('rel-0.2.0', 'committed')
    expect(hub.reportsFor('rel-0.2.0')).toEqual(['downloading', 'verifying', 'installing', 'trial', 'committed'])
    expect(edge.slots()).toMatchObject({ active: 'a', previous: 'factory', trial: null })
    await waitFor(() => hub.runtimeVersions.includes('0.2.0'), { what: 'a heartbeat from runtime 0.2.0' })
    expect(await healthy(edge.latestReady())).toBe(true)
    expect(hub.badSignatures).toBe(0)

    hub.setTarget({ path: bad, name: 'cloudos-runtime', version: '0.3.0', kind: 'runtime' })
    await waitForState('rel-0.3.0', 'rolled-back')
    const rolledBack = hub.reports.find((r) => r.releaseId === 'rel-0.3.0' && r.state === 'rolled-back')!
    expect(rolledBack.code).toBe('OTA_ERR_CRASH_LOOP')
    expect(rolledBack.reason).toMatch(/0\.3\.0 exited 3 times/)
    expect(rolledBack.runningVersion).toBe('0.2.0')
    expect(edge.slots()).toMatchObject({ active: 'a', trial: null })
    const versionsBefore = hub.runtimeVersions.length
    await waitFor(() => hub.runtimeVersions.length > versionsBefore + 1, { what: 'heartbeats after the rollback', timeoutMs: 20_000 })
    expect(hub.runtimeVersions.at(-1)).toBe('0.2.0')
    expect(await waitFor(() => healthy(edge.latestReady()), { timeoutMs: 20_000, what: 'the rolled-back edge to answer /healthz' })).toBe(true)
    // The refused release is not tried again, although the hub still names it.
    await new Promise((r) => setTimeout(r, 2500))
    expect(hub.reportsFor('rel-0.3.0').filter((s) => s === 'downloading')).toHaveLength(1)

    expect(await edge.stop()).toBe(0)
    running.splice(running.indexOf(edge), 1)
  }, 180_000)

  it('a trial that fails its health check rolls back with the failed check as reason', async () => {
    const dataDir = join(tmp.path, 'edge-unhealthy')
    hub.setTarget({ path: good, name: 'cloudos-runtime', version: '0.2.0', kind: 'runtime', releaseId: 'rel-ingest' })
    // No sensor publishes here: requiring ingest makes the trial fail.
    const edge = supervise(dataDir, undefined, { healthCheck: { requireIngest: true } })
    await waitForState('rel-ingest', 'rolled-back')
    const report = hub.reports.find((r) => r.releaseId === 'rel-ingest' && r.state === 'rolled-back')!
    expect(report).toMatchObject({ code: 'OTA_ERR_HEALTH_CHECK_FAILED', runningVersion: '0.1.0' })
    expect(report.reason).toMatch(/no readings stored/)
    expect(edge.slots()).toMatchObject({ active: 'factory', trial: null })
    expect(await waitFor(() => healthy(edge.latestReady()), { timeoutMs: 20_000, what: 'the factory edge' })).toBe(true)
    await edge.powerCut()
  }, 120_000)

  it('refuses a runtime bundle larger than the staging budget before downloading anything', async () => {
    const dataDir = join(tmp.path, 'edge-budget')
    hub.setTarget({ path: good, name: 'cloudos-runtime', version: '0.2.0', kind: 'runtime', releaseId: 'rel-budget' })
    const rangesBefore = hub.ranges.length
    const edge = supervise(dataDir, undefined, { stagingBudgetBytes: 1000 })
    await waitForState('rel-budget', 'failed')
    expect(hub.reports.find((r) => r.releaseId === 'rel-budget' && r.state === 'failed')?.code).toBe('OTA_ERR_DISK_SPACE')
    expect(hub.ranges.length).toBe(rangesBefore)
    expect(readdirSync(otaPaths(dataDir).staging)).toEqual([])
    expect(edge.slots().active).toBe('factory')
    await edge.powerCut()
  }, 120_000)

  // Power cut (SIGKILL to supervisor and edge together) at each updater stage, then a restart.
  for (const stage of ['downloading', 'verifying', 'installing', 'switching', 'trial'] as const) {
    it(`kill -9 while ${stage}: the restarted edge boots a good slot and completes the update`, async () => {
      const dataDir = join(tmp.path, `edge-kill-${stage}`)
      const releaseId = `rel-kill-${stage}`
      hub.setTarget({ path: good, name: 'cloudos-runtime', version: '0.2.0', kind: 'runtime', releaseId })
      const size = statSync(good).size
      // A hold point (test/harness/fault-entries.ts) at the stage, where no slow download or trial window gives the time to cut.
      let faults: NodeJS.ProcessEnv | undefined
      if (stage === 'downloading') hub.throttleBytesPerSecond = Math.ceil(size / 6)
      else if (stage !== 'trial') faults = { CLOUDOS_OTA_HOLD_STAGE: stage }
      const first = supervise(dataDir, faults, stage === 'trial' ? { trialWindowSeconds: 30 } : {})
      if (stage === 'downloading') {
        const part = join(otaPaths(dataDir).staging, `${releaseId}.cosb`)
        await waitFor(() => existsSync(part) && statSync(part).size > 0, { timeoutMs: 60_000, what: 'a partial download' })
      } else if (stage === 'trial') {
        await waitFor(() => first.slots().trial !== null && first.readies.length >= 2, { timeoutMs: 60_000, what: 'the new slot on trial' })
      } else {
        await waitFor(() => first.lines.some((l) => l.includes('"event":"ota.hold"') && l.includes(`"stage":"${stage}"`)), { timeoutMs: 60_000, what: `the updater holding at ${stage}` })
      }
      await first.powerCut()
      hub.throttleBytesPerSecond = 0
      const afterCut = first.slots()
      // Whatever the stage, the state names a slot that can boot.
      expect(['factory', 'a']).toContain(afterCut.active)
      if (stage === 'trial') expect(afterCut).toMatchObject({ active: 'a', trial: { boots: 0 } })
      else expect(afterCut.active).toBe('factory')

      const second = supervise(dataDir)
      await waitFor(() => healthy(second.latestReady()), { timeoutMs: 30_000, what: 'the restarted edge to answer /healthz' })
      await waitForState(releaseId, 'committed')
      expect(second.slots()).toMatchObject({ active: 'a', trial: null })
      if (stage === 'downloading') expect(hub.ranges.some((r) => r !== undefined && r !== 'bytes=0-')).toBe(true)
      expect(await waitFor(() => healthy(second.latestReady()), { timeoutMs: 30_000, what: 'the updated edge' })).toBe(true)
      await second.powerCut()
    }, 180_000)
  }
})
