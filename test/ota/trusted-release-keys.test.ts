import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { installKeyRotation, loadTrustedReleaseKeys, rotatedKeysPath } from '../../edge/ota/trusted-release-keys.js'
import { silentLogger } from '../../shared/log/logger.js'
import { KEY_ROTATION_FILE, KEY_ROTATION_TYPE, signKeyRotation } from '../../shared/ota/key-rotation.js'
import { generateReleaseKey, releaseKeyId } from '../../shared/ota/release-keys.js'
import { useTempDir } from '../helpers/temp-dir.js'

const keyPair = () => {
  const pair = generateReleaseKey()
  const privateKey = createPrivateKey(pair.privateKeyPem)
  return { privateKey, publicKey: createPublicKey(privateKey), pem: pair.publicKeyPem }
}
const ids = (keys: readonly KeyObject[]) => keys.map((k) => releaseKeyId(k))

describe('the edge\'s trusted release keys across rotations (data dir state)', () => {
  it('trusts the rotated set instead of the file\'s; a changed file wins again; versions only grow; the new set must have signed', () => {
    const dataDir = useTempDir('cloudos-trust-')
    let n = 0
    /** An extracted release-keys payload: the statement signed by `signers`. */
    const extracted = (version: number, keys: { pem: string }[], signers: { privateKey: KeyObject }[]) => {
      const dir = join(dataDir, `extract-${++n}`)
      mkdirSync(dir, { recursive: true })
      const rotation = signKeyRotation({ type: KEY_ROTATION_TYPE, version, keys: keys.map((k) => k.pem), createdAt: new Date().toISOString() }, signers.map((s) => s.privateKey))
      writeFileSync(join(dir, KEY_ROTATION_FILE), JSON.stringify(rotation))
      return dir
    }
    const [k1, k2, k3, rogue] = [keyPair(), keyPair(), keyPair(), keyPair()]
    const log = silentLogger
    let trust = loadTrustedReleaseKeys(dataDir, [k1.publicKey], log)
    expect(trust).toMatchObject({ source: 'config', version: 0 })

    const unsignedByNew = extracted(1, [k2], [k1])
    expect(() => installKeyRotation(dataDir, unsignedByNew, trust)).toThrow(/not signed by any key of its new set/)
    const byRogue = extracted(1, [rogue], [rogue])
    expect(() => installKeyRotation(dataDir, byRogue, trust)).toThrow(/not signed by any of the 1 release keys trusted now/)

    trust = installKeyRotation(dataDir, extracted(1, [k2], [k1, k2]), trust)
    expect(ids(trust.keys)).toEqual(ids([k2.publicKey]))
    expect(statSync(rotatedKeysPath(dataDir)).mode & 0o777).toBe(0o600)
    // After a restart with the same file: still the rotated set, not the file's key.
    expect(ids(loadTrustedReleaseKeys(dataDir, [k1.publicKey], log).keys)).toEqual(ids([k2.publicKey]))

    // The operator changes ota.trustedKeys in the device's file: the file's keys are trusted again, the version stays the floor.
    trust = loadTrustedReleaseKeys(dataDir, [k3.publicKey], log)
    expect(trust).toMatchObject({ source: 'config', version: 1 })
    expect(() => installKeyRotation(dataDir, extracted(1, [k1], [k3, k1]), trust)).toThrow(/replayed/)
    trust = installKeyRotation(dataDir, extracted(2, [k1], [k3, k1]), trust)
    expect(trust).toMatchObject({ source: 'rotation', version: 2 })
    expect(ids(loadTrustedReleaseKeys(dataDir, [k3.publicKey], log).keys)).toEqual(ids([k1.publicKey]))
  })
})
