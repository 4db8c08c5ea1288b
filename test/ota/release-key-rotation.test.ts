import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rotatedKeysPath } from '../../edge/ota/trusted-release-keys.js'
import { buildBundle } from '../../shared/ota/bundle.js'
import { KEY_ROTATION_FILE, KEY_ROTATION_TYPE, signKeyRotation, type KeyRotationStatement, type SignedKeyRotation } from '../../shared/ota/key-rotation.js'
import { releaseKeyId } from '../../shared/ota/release-keys.js'
import type { BundleKind } from '../../shared/protocol/ota.js'
import { spawnEdge, type EdgeChild } from '../harness/edge-child.js'
import { startOtaTestHub, type OtaTestHub } from '../harness/ota-test-hub.js'
import { writeEdgeConfig } from '../harness/supervised-edge.js'
import { inOneYear } from '../hub/ota-helper.js'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Release key rotation on a real `cloudos edge` process fed by a real HTTP
 * hub: statements signed by an untrusted key and replayed statements are
 * refused; a valid one makes the new key the only trusted one.
 */
describe('release key rotation (release-keys bundles)', () => {
  let tmp: TempDir
  let hub: OtaTestHub
  let edge: EdgeChild | undefined
  const key = (name: string) => join(tmp.path, `${name}.pem`)

  beforeAll(async () => {
    tmp = makeTempDir('cloudos-rotation-')
    for (const name of ['old', 'new', 'rogue']) expect((await runCli(['firmware', 'keygen', '--out', tmp.path, '--name', name])).code).toBe(0)
    hub = await startOtaTestHub()
  }, 60_000)

  afterAll(async () => {
    await edge?.kill()
    await hub?.close()
    tmp?.remove()
  })

  const privateKey = (name: string) => createPrivateKey(readFileSync(key(name), 'utf8'))
  const pem = (name: string) => createPublicKey(privateKey(name)).export({ type: 'spki', format: 'pem' }).toString()

  /** A release-keys bundle whose statement is signed by `statementSigners` and whose bundle by `bundleSigner`. */
  async function rotationBundle(file: string, rotation: SignedKeyRotation, bundleSigner: string): Promise<string> {
    const dir = join(tmp.path, `src-${file}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, KEY_ROTATION_FILE), JSON.stringify(rotation))
    const out = join(tmp.path, `${file}.cosb`)
    await buildBundle({ sourceDir: dir, outputPath: out, name: 'release-keys', version: `${rotation.statement.version}.0.0`, kind: 'release-keys', expiresAt: inOneYear(), privateKey: privateKey(bundleSigner) })
    return out
  }

  const statement = (version: number, keys: string[]): KeyRotationStatement => ({ type: KEY_ROTATION_TYPE, version, keys: keys.map(pem), createdAt: new Date().toISOString() })

  async function firmwareBundle(name: string, signer: string): Promise<string> {
    const dir = join(tmp.path, `src-${name}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'image.bin'), name)
    const out = join(tmp.path, `${name}.cosb`)
    await buildBundle({ sourceDir: dir, outputPath: out, name, version: '1.0.0', kind: 'firmware', expiresAt: inOneYear(), privateKey: privateKey(signer) })
    return out
  }

  async function offer(path: string, releaseId: string, kind: BundleKind, name: string, version: string, state: 'committed' | 'failed') {
    hub.setTarget({ path, name, version, kind, releaseId })
    await waitFor(() => hub.reportsFor(releaseId).includes(state) || hub.reportsFor(releaseId).includes(state === 'failed' ? 'committed' : 'failed'), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `report ${state} for ${releaseId}`,
    })
    const last = hub.reports.filter((r) => r.releaseId === releaseId).at(-1)
    expect(last?.state, `${releaseId}: ${last?.code ?? ''} ${last?.reason ?? ''}`).toBe(state)
    return last
  }

  it('refuses an untrusted statement, rotates on a valid one (the old key no longer verifies bundles), refuses a replayed older statement', async () => {
    const dataDir = join(tmp.path, 'edge')
    const config = writeEdgeConfig(join(tmp.path, 'edge-config.json'), join(tmp.path, 'old.pub.pem'), { installerHook: ['/bin/true'] })
    edge = await spawnEdge({ dataDir, config, extraArgs: ['--hub', hub.url, '--insecure-http', '--enroll-token', 'test-token-of-the-ota-test-hub'], readyTimeoutMs: 60_000 })

    // 1. The statement names the attacker's key and is signed only by keys the edge does not trust (the bundle itself by the trusted key).
    const rogueRotation = signKeyRotation(statement(1, ['rogue']), [privateKey('rogue')])
    const refusedRogue = await offer(await rotationBundle('rogue-rotation', rogueRotation, 'old'), 'rot-rogue', 'release-keys', 'release-keys', '1.0.0', 'failed')
    expect(refusedRogue?.code).toBe('OTA_ERR_ROTATION_REFUSED')
    expect(refusedRogue?.reason).toMatch(/not signed by any of the 1 release keys trusted now/)
    // ... and a whole bundle signed by an untrusted key never gets that far.
    const rogueBundle = await offer(await rotationBundle('rogue-bundle', rogueRotation, 'rogue'), 'rot-rogue-bundle', 'release-keys', 'release-keys', '1.0.0', 'failed')
    expect(rogueBundle?.code).toBe('OTA_ERR_UNTRUSTED_KEY')
    await offer(await firmwareBundle('still-old', 'old'), 'fw-old-1', 'firmware', 'still-old', '1.0.0', 'committed')

    // 2. A valid rotation, built with the CLI: signed by the trusted key and by the new one.
    const valid = join(tmp.path, 'rotation-1.cosb')
    const built = await runCli(['firmware', 'rotate-keys', '--key', key('old'), '--new-key', key('new'), '--rotation-version', '1', '--out', valid])
    expect(built.code, built.stderr).toBe(0)
    expect(JSON.parse(built.stdout).signedBy).toEqual([releaseKeyId(privateKey('old')), releaseKeyId(privateKey('new'))])
    await offer(valid, 'rot-1', 'release-keys', 'release-keys', '1.0.0', 'committed')
    expect(statSync(rotatedKeysPath(dataDir)).mode & 0o777).toBe(0o600)

    // The old key no longer verifies bundles; the new one does.
    const oldSigned = await offer(await firmwareBundle('old-signed', 'old'), 'fw-old-2', 'firmware', 'old-signed', '1.0.0', 'failed')
    expect(oldSigned?.code).toBe('OTA_ERR_UNTRUSTED_KEY')
    await offer(await firmwareBundle('new-signed', 'new'), 'fw-new-1', 'firmware', 'new-signed', '1.0.0', 'committed')

    // 3. The accepted statement replayed (re-wrapped in a bundle the new key signs, so only the statement is judged): refused.
    const acceptedStatement = JSON.parse(readFileSync(rotatedKeysPath(dataDir), 'utf8')).rotation as SignedKeyRotation
    const replay = await offer(await rotationBundle('replay', acceptedStatement, 'new'), 'rot-replay', 'release-keys', 'release-keys', '1.0.0', 'failed')
    expect(replay?.code).toBe('OTA_ERR_ROTATION_REFUSED')
    expect(replay?.reason).toMatch(/replayed/)

    // 4. After a restart the rotated set is still the one trusted.
    await edge.kill()
    edge = await spawnEdge({ dataDir, config, extraArgs: ['--hub', hub.url, '--insecure-http'], readyTimeoutMs: 60_000 })
    const afterRestart = await offer(await firmwareBundle('old-after-restart', 'old'), 'fw-old-3', 'firmware', 'old-after-restart', '1.0.0', 'failed')
    expect(afterRestart?.code).toBe('OTA_ERR_UNTRUSTED_KEY')
  }, 240_000)
})
