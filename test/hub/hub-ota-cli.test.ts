import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { goodFacts } from './device-helper.js'
import { makeBundle, newReleaseKey } from './ota-helper.js'

// The built CLI against a real hub on loopback.
describe('cloudos hub release / rollout', () => {
  let hub: RealHub
  let dir: TempDir
  const key = newReleaseKey()
  const connection = () => ['--hub', hub.url, '--token', hub.adminToken, '--ca', hub.caFile]

  beforeAll(async () => {
    dir = makeTempDir('cloudos-ota-cli-')
    hub = await startRealHub()
    expect((await hub.post('/v1/release-keys', { name: 'release team', publicKeyPem: key.publicKeyPem })).status).toBe(201)
    for (let i = 0; i < 2; i++) {
      const { token } = await hub.createEnrolmentToken({ group: 'site-a', tier: 'edge' })
      const enrolled = await hub.fetch(`${hub.url}/v1/devices/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrolmentToken: token, publicKey: encodePublicKey(generateDeviceKeyPair().publicKey), facts: goodFacts }) })
      expect(enrolled.status).toBe(201)
    }
  }, 30_000)

  afterAll(async () => {
    await hub?.dispose()
    dir?.remove()
  })

  it('uploads, lists, creates a rollout, shows it, pauses, resumes and aborts it', async () => {
    const bundle = await makeBundle(dir.path, { key, version: '4.0.0' })
    const uploaded = await runCli(['hub', 'release', 'upload', bundle.path, ...connection(), '--json'])
    expect(uploaded.code, uploaded.stderr).toBe(0)
    const release = JSON.parse(uploaded.stdout) as { id: string; version: string }
    expect(release.version).toBe('4.0.0')
    const listed = await runCli(['hub', 'release', 'list', ...connection()])
    expect(listed.stdout).toContain(`${release.id} cloudos-runtime 4.0.0 runtime`)

    const created = await runCli(['hub', 'rollout', 'create', '--release', release.id, '--group', 'site-a', '--waves', '50,100', '--healthy-after', '0', ...connection(), '--json'])
    expect(created.code, created.stderr).toBe(0)
    const rollout = JSON.parse(created.stdout) as { id: string; devices: number; waves: { deviceCount: number; healthyAfterSeconds: number }[] }
    expect(rollout.devices).toBe(2)
    expect(rollout.waves.map((w) => [w.deviceCount, w.healthyAfterSeconds])).toEqual([[1, 0], [1, 0]])

    const status = await runCli(['hub', 'rollout', 'status', rollout.id, ...connection()])
    expect(status.stdout).toContain(`${rollout.id} running`)
    expect(status.stdout).toMatch(/wave 1 +50% running/)
    expect((await runCli(['hub', 'rollout', 'pause', rollout.id, ...connection()])).stdout).toContain(`${rollout.id} paused`)
    expect((await runCli(['hub', 'rollout', 'resume', rollout.id, ...connection()])).stdout).toContain(`${rollout.id} running`)
    expect((await runCli(['hub', 'rollout', 'abort', rollout.id, '--reason', 'wrong build', ...connection()])).stdout).toContain(`${rollout.id} aborted (wrong build)`)
    const again = await runCli(['hub', 'rollout', 'resume', rollout.id, ...connection()])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('ROLLOUT_ERR_INVALID_STATE')
  }, 180_000)

  it('reports the hub\'s refusal code for an unsigned bundle, and a missing token', async () => {
    const unsigned = await makeBundle(dir.path, { key: null, version: '4.0.1' })
    const refused = await runCli(['hub', 'release', 'upload', unsigned.path, ...connection()])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('OTA_ERR_UNSIGNED')
    const noToken = await runCli(['hub', 'release', 'list', '--hub', hub.url])
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toContain('CLI_ERR_INVALID_FLAG')
  }, 60_000)
})
