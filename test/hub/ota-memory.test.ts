import { writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { join } from 'node:path'
import { createPrivateKey } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { ChildReaper } from '../../bench/processes/child-reaper.js'
import { enrolBenchDevices, initBenchHub, loginAdmin, startHubProcess } from '../../bench/hub/hub-bench-setup.js'
import { buildBenchBundle, uploadBundle } from '../../bench/ota/ota-bench.js'
import { SimulatedEdge } from '../../bench/ota/ota-simulated-edge.js'
import { residentBytes, sampleResidentPeak } from '../../bench/measure/process-memory.js'
import { generateReleaseKey } from '../../shared/ota/release-keys.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const MiB = 1024 * 1024

/**
 * The hub in its own process (the built CLI), a 200 MiB bundle uploaded and
 * downloaded: its resident memory must not grow by anything near the bundle
 * size (streamed both ways). Loose bound: 100 MiB, half the bundle.
 */
describe('hub memory with a 200 MiB bundle (child hub process)', () => {
  const dir = makeTempDir('cloudos-ota-memory-')
  const reaper = new ChildReaper()
  afterAll(() => {
    reaper.killAll()
    dir.remove()
  })

  it('uploads and serves it without holding it in memory', async () => {
    const key = generateReleaseKey()
    const publicKeyPath = join(dir.path, 'release.pub.pem')
    writeFileSync(publicKeyPath, key.publicKeyPem)
    const bundle = await buildBenchBundle(dir.path, 200, key.privateKeyPem)
    expect(bundle.bytes).toBeGreaterThan(200 * MiB)

    const hub = await initBenchHub(join(dir.path, 'hub'))
    // Plain HTTP on loopback: this measures bundle streaming; `cloudos bench hub` measures what TLS costs.
    const hubProcess = await startHubProcess(hub.dataDir, reaper, { config: { ota: { maxBundleBytes: 512 * MiB } }, args: ['--release-key', publicKeyPath, '--insecure-http'] })
    const pid = hubProcess.child.pid as number
    const token = await loginAdmin(hubProcess.url, hub)
    const [device] = await enrolBenchDevices(hubProcess.url, token, 1)

    const beforeUpload = residentBytes(pid) as number
    expect(beforeUpload).toBeGreaterThan(0)
    let sampler = sampleResidentPeak(pid)
    const release = await uploadBundle(hubProcess.url, token, bundle.path)
    const uploadPeak = sampler.stop() as number
    expect(release.bundleBytes).toBe(bundle.bytes)
    expect(release.bundleSha256).toBe(bundle.sha256)
    expect(uploadPeak - beforeUpload, `upload: RSS ${beforeUpload / MiB} -> ${uploadPeak / MiB} MiB`).toBeLessThan(100 * MiB)

    const rollout = await fetch(`${hubProcess.url}/v1/rollouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ releaseId: release.id, target: {}, waves: [{ percent: 100, healthyAfterSeconds: 0 }] }),
    })
    expect(rollout.status).toBe(201)
    const agent = new Agent({ keepAlive: true })
    // Two Range requests of 128 MiB: the second resumes where the first ended; sha256 checked by the edge.
    const edge = new SimulatedEdge({ baseUrl: hubProcess.url, deviceId: device?.deviceId as string, privateKey: createPrivateKey(device?.privateKeyPem as string), agent, rangeBytes: 128 * MiB })
    const beforeDownload = residentBytes(pid) as number
    sampler = sampleResidentPeak(pid)
    expect(await edge.pollOnce()).toBe('updated')
    const downloadPeak = sampler.stop() as number
    agent.destroy()
    expect(edge.bytesReceived).toBe(bundle.bytes)
    expect(downloadPeak - beforeDownload, `download: RSS ${beforeDownload / MiB} -> ${downloadPeak / MiB} MiB`).toBeLessThan(100 * MiB)
  }, 240_000)
})
