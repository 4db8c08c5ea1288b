import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { otaPaths } from '../../edge/ota/ota-paths.js'
import { packageRoot } from '../../shared/package-root.js'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { startOtaTestHub, type OtaTestHub } from '../harness/ota-test-hub.js'
import { writeEdgeConfig } from '../harness/supervised-edge.js'

// A plain `cloudos edge` process (no supervisor) linked to a real HTTP hub:
// firmware bundles go to the installer hook, model bundles to the model
// store; refused bundles leave nothing installed; runtime bundles need the
// supervisor and say so.
describe('edge updater: firmware, model, refusals (real edge process)', () => {
  let tmp: TempDir
  let hub: OtaTestHub
  let pubPath: string
  let keyPath: string
  const edges: EdgeChild[] = []

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-ota-kinds-')
    expect((await runCli(['firmware', 'keygen', '--out', tmp.path])).code).toBe(0)
    expect((await runCli(['firmware', 'keygen', '--out', tmp.path, '--name', 'rogue'])).code).toBe(0)
    keyPath = join(tmp.path, 'release-key.pem')
    pubPath = join(tmp.path, 'release-key.pub.pem')
    hub = await startOtaTestHub()
  }, 60_000)

  // One edge at a time: every edge polls the same hub target.
  afterEach(async () => {
    for (const edge of edges.splice(0)) await edge.kill()
  })

  afterAll(async () => {
    await hub?.close()
    tmp?.remove()
  })

  async function bundle(name: string, kind: string, version: string, files: Record<string, string | Buffer>, key = keyPath, extra: string[] = []): Promise<string> {
    const dir = join(tmp.path, `src-${name}-${version}`)
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true })
      writeFileSync(join(dir, path), content)
    }
    const out = join(tmp.path, `${name}-${version}.cosb`)
    const built = await runCli(['firmware', 'build', '--dir', dir, '--out', out, '--name', name, '--bundle-version', version, '--kind', kind, '--key', key, ...extra])
    expect(built.code, built.stderr).toBe(0)
    return out
  }

  async function edge(dataDir: string, ota: Record<string, unknown> = {}): Promise<EdgeChild> {
    const config = writeEdgeConfig(join(tmp.path, `config-${dataDir.split('/').at(-1)}.json`), pubPath, ota)
    const child = await spawnEdge({ dataDir, config, extraArgs: ['--hub', hub.url, '--insecure-http', '--enroll-token', 'test-token-of-the-ota-test-hub'], readyTimeoutMs: 60_000 })
    edges.push(child)
    return child
  }

  const waitForState = (releaseId: string, state: string) =>
    waitFor(() => hub.reportsFor(releaseId).includes(state), { timeoutMs: 60_000, intervalMs: 100, what: `report ${state} for ${releaseId}` })

  it('hands a firmware bundle to the installer hook with the verified payload, and records the version', async () => {
    const dataDir = join(tmp.path, 'edge-fw')
    const marker = join(tmp.path, 'hook-ran.txt')
    const fw = await bundle('boiler-fw', 'firmware', '2.0.0', { 'image.bin': 'FIRMWARE-IMAGE', 'notes/readme.txt': 'v2' })
    hub.setTarget({ path: fw, name: 'boiler-fw', version: '2.0.0', kind: 'firmware', releaseId: 'fw-2' })
    // An argv command, run without a shell: the last argument reaches the program as it is, never run.
    const pwned = join(tmp.path, 'pwned')
    const script = `const fs = require('node:fs'); const e = process.env; fs.writeFileSync(${JSON.stringify(marker)}, fs.readFileSync(e.CLOUDOS_OTA_PAYLOAD_DIR + '/image.bin', 'utf8') + ' ' + e.CLOUDOS_OTA_NAME + ' ' + e.CLOUDOS_OTA_VERSION + '\\n' + process.argv[1])`
    const literal = `$(touch ${pwned}); touch ${pwned}`
    await edge(dataDir, { installerHook: [process.execPath, '-e', script, literal] })
    await waitForState('fw-2', 'committed')
    expect(hub.reportsFor('fw-2')).toEqual(['downloading', 'verifying', 'installing', 'committed'])
    expect(readFileSync(marker, 'utf8')).toBe(`FIRMWARE-IMAGE boiler-fw 2.0.0\n${literal}`)
    expect(existsSync(pwned)).toBe(false)
    const installed = JSON.parse(readFileSync(otaPaths(dataDir).installed, 'utf8')) as { firmware: Record<string, { version: string }> }
    expect(installed.firmware['boiler-fw']?.version).toBe('2.0.0')
    expect(readdirSync(otaPaths(dataDir).staging)).toEqual([])
  }, 120_000)

  it('reports a failing installer hook with its output', async () => {
    const dataDir = join(tmp.path, 'edge-fw-fail')
    const fw = await bundle('pump-fw', 'firmware', '1.0.1', { 'image.bin': 'X' })
    hub.setTarget({ path: fw, name: 'pump-fw', version: '1.0.1', kind: 'firmware', releaseId: 'fw-fail' })
    await edge(dataDir, { installerHook: ['/bin/sh', '-c', 'echo flash write error >&2; exit 3'] })
    await waitForState('fw-fail', 'failed')
    const report = hub.reports.find((r) => r.releaseId === 'fw-fail' && r.state === 'failed')!
    expect(report.code).toBe('OTA_ERR_INSTALL_FAILED')
    expect(report.reason).toMatch(/code 3: flash write error/)
  }, 120_000)

  it('installs a model bundle and switches the running model to it; a broken model is refused and the old one keeps running', async () => {
    const dataDir = join(tmp.path, 'edge-model')
    const shipped = join(packageRoot(), 'models')
    const card = readFileSync(join(shipped, 'cloudos-forecaster-v1.card.json'))
    const onnx = readFileSync(join(shipped, 'cloudos-forecaster-v1.onnx'))
    const model = await bundle('vibration', 'model', '1.1.0', { 'cloudos-forecaster-v1.onnx': onnx, 'cloudos-forecaster-v1.card.json': card })
    hub.setTarget({ path: model, name: 'vibration', version: '1.1.0', kind: 'model', releaseId: 'model-1' })
    const child = await edge(dataDir)
    await waitForState('model-1', 'committed')
    // Named by the release id, never by the signed manifest's name (issue 13).
    const dir = join(dataDir, 'models', 'model-1')
    expect(readdirSync(dir).sort()).toEqual(['cloudos-forecaster-v1.card.json', 'cloudos-forecaster-v1.onnx'])
    const running = async () => ((await (await fetch(`${child.endpoints.httpUrl}/v1/model`)).json()) as { model: { path: string; sha256: string } | null }).model
    // The edge's inference now runs the model from the bundle, not the shipped one.
    expect((await running())?.path).toBe(join(dir, 'cloudos-forecaster-v1.onnx'))

    // A bundle whose .onnx does not match its card: stored, refused by the model registry, reported; the running model stays.
    const broken = Buffer.from(onnx)
    broken[broken.length - 10] = (broken[broken.length - 10] as number) ^ 0xff
    const bad = await bundle('vibration', 'model', '1.2.0', { 'cloudos-forecaster-v1.onnx': broken, 'cloudos-forecaster-v1.card.json': card })
    hub.setTarget({ path: bad, name: 'vibration', version: '1.2.0', kind: 'model', releaseId: 'model-2' })
    await waitForState('model-2', 'failed')
    expect(hub.reports.find((r) => r.releaseId === 'model-2' && r.state === 'failed')?.code).toMatch(/^MODEL_ERR_/)
    expect((await running())?.path).toBe(join(dir, 'cloudos-forecaster-v1.onnx'))
  }, 120_000)

  it('refuses a bundle signed by an untrusted key: reported, nothing installed, not retried', async () => {
    const dataDir = join(tmp.path, 'edge-rogue')
    const rogue = await bundle('vibration', 'model', '9.0.0', { 'model.onnx': 'EVIL' }, join(tmp.path, 'rogue.pem'))
    hub.setTarget({ path: rogue, name: 'vibration', version: '9.0.0', kind: 'model', releaseId: 'rogue-1' })
    await edge(dataDir)
    await waitForState('rogue-1', 'failed')
    expect(hub.reports.find((r) => r.releaseId === 'rogue-1' && r.state === 'failed')?.code).toBe('OTA_ERR_UNTRUSTED_KEY')
    expect(existsSync(join(dataDir, 'models', 'vibration'))).toBe(false)
    expect(readdirSync(otaPaths(dataDir).staging)).toEqual([])
    await new Promise((r) => setTimeout(r, 2500))
    expect(hub.reportsFor('rogue-1').filter((s) => s === 'downloading')).toHaveLength(1)
  }, 120_000)

  it('refuses a bundle for another target (arch)', async () => {
    const dataDir = join(tmp.path, 'edge-target')
    const other = process.arch === 'arm64' ? 'x64' : 'arm64'
    const fw = await bundle('boiler-fw', 'firmware', '3.0.0', { 'image.bin': 'Y' }, keyPath, ['--arch', other])
    hub.setTarget({ path: fw, name: 'boiler-fw', version: '3.0.0', kind: 'firmware', releaseId: 'fw-other-arch' })
    await edge(dataDir, { installerHook: ['/bin/true'] })
    await waitForState('fw-other-arch', 'failed')
    expect(hub.reports.find((r) => r.releaseId === 'fw-other-arch' && r.state === 'failed')?.code).toBe('OTA_ERR_TARGET_MISMATCH')
  }, 120_000)

  it('stops a download that runs past the announced size (endless data)', async () => {
    const dataDir = join(tmp.path, 'edge-endless')
    const fw = await bundle('boiler-fw', 'firmware', '4.0.0', { 'image.bin': 'Z'.repeat(50_000) })
    hub.setTarget({ path: fw, name: 'boiler-fw', version: '4.0.0', kind: 'firmware', releaseId: 'fw-endless', announcedBytes: 300 })
    await edge(dataDir, { installerHook: ['/bin/true'] })
    await waitForState('fw-endless', 'failed')
    const endless = hub.reports.find((r) => r.releaseId === 'fw-endless' && r.state === 'failed')
    expect(endless?.code, endless?.reason).toBe('OTA_ERR_BUNDLE_TOO_LARGE')
    expect(readdirSync(otaPaths(dataDir).staging)).toEqual([])
  }, 120_000)

  it('says that runtime bundles need the supervisor', async () => {
    const dataDir = join(tmp.path, 'edge-unsupervised')
    const rt = await bundle('cloudos-runtime', 'runtime', '5.0.0', { 'package.json': '{}', 'bin/cloudos.js': '' })
    hub.setTarget({ path: rt, name: 'cloudos-runtime', version: '5.0.0', kind: 'runtime', releaseId: 'rt-unsupervised' })
    await edge(dataDir)
    await waitForState('rt-unsupervised', 'failed')
    expect(hub.reports.find((r) => r.releaseId === 'rt-unsupervised' && r.state === 'failed')?.reason).toMatch(/cloudos supervise/)
  }, 120_000)
})
