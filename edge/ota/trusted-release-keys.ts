import { createHash, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../shared/atomic-file.js'
import { CloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { KEY_ROTATION_FILE, parseKeyRotation, verifyKeyRotation, type SignedKeyRotation } from '../../shared/ota/key-rotation.js'
import { parseReleasePublicKey, releaseKeyId } from '../../shared/ota/release-keys.js'
import { otaPaths } from './ota-paths.js'

/** The rotated key set, kept 0600 in <dataDir>/ota/ once a rotation was accepted. */
export const ROTATED_KEYS_FILE = 'trusted-release-keys.json'

interface RotatedKeysState {
  formatVersion: 1
  /** The rotation version in effect: a statement must carry a higher one. */
  version: number
  /** Digest of the config file's ota.trustedKeys when the rotation was accepted. */
  fileKeysDigest: string
  /** The accepted statement, as received. */
  rotation: SignedKeyRotation
  acceptedAt: string
}

export function rotatedKeysPath(dataDir: string): string {
  return join(otaPaths(dataDir).root, ROTATED_KEYS_FILE)
}

/** Which keys the updater trusts, where they come from, and the rotation version in effect. */
export interface TrustedReleaseKeys {
  keys: KeyObject[]
  version: number
  source: 'config' | 'rotation'
  /** Digest of the config file's keys (to tell, after a restart, whether the operator changed them). */
  fileKeysDigest: string
}

function digestOf(keys: readonly KeyObject[]): string {
  return createHash('sha256').update(keys.map((k) => releaseKeyId(k)).sort().join(',')).digest('hex')
}

function readState(dataDir: string): RotatedKeysState | undefined {
  const path = rotatedKeysPath(dataDir)
  if (!existsSync(path)) return undefined
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as RotatedKeysState
    if (state.formatVersion !== 1 || !Number.isSafeInteger(state.version)) throw new Error('not a version 1 state')
    return state
  } catch (err) {
    // Written only by this module, atomically: unreadable means tampered or a broken disk. Fail closed.
    throw new CloudosError('OTA_ERR_ROTATION_REFUSED', `${path} is unreadable (${(err as Error).message}): remove it to trust ota.trustedKeys from the config file again`)
  }
}

/**
 * The keys in effect. The config file's `ota.trustedKeys` until a rotation
 * is accepted; from then on the rotated set INSTEAD of the file's (a
 * rotation exists to retire a key: keeping the old one trusted would undo
 * it). The file stays the device's own word: if the operator changes
 * `ota.trustedKeys` in it after a rotation, the file's keys are trusted
 * again (logged), while the version reached stays the floor for replays.
 */
export function loadTrustedReleaseKeys(dataDir: string, fileKeys: readonly KeyObject[], log: Logger): TrustedReleaseKeys {
  const fileKeysDigest = digestOf(fileKeys)
  const state = readState(dataDir)
  if (state === undefined) return { keys: [...fileKeys], version: 0, source: 'config', fileKeysDigest }
  if (state.fileKeysDigest !== fileKeysDigest) {
    log.warn(`ota.trustedKeys in the config file changed since release key rotation ${state.version}: trusting the file's keys; rotations must now carry a version above ${state.version}`)
    return { keys: [...fileKeys], version: state.version, source: 'config', fileKeysDigest }
  }
  const keys = state.rotation.statement.keys.map((pem, i) => parseReleasePublicKey(pem, `${ROTATED_KEYS_FILE} keys[${i}]`))
  return { keys, version: state.version, source: 'rotation', fileKeysDigest }
}

/**
 * Installs a verified `release-keys` bundle: reads its statement, checks it
 * against the keys trusted now (OTA_ERR_ROTATION_REFUSED: untrusted signer,
 * no signature of the new set, version not above the one in effect), then
 * persists it (0600, atomically) and returns the new trust.
 */
export function installKeyRotation(dataDir: string, extractedDir: string, current: TrustedReleaseKeys): TrustedReleaseKeys {
  let text: string
  try {
    text = readFileSync(join(extractedDir, KEY_ROTATION_FILE), 'utf8')
  } catch {
    throw new CloudosError('OTA_ERR_ROTATION_REFUSED', `the release-keys bundle has no ${KEY_ROTATION_FILE}`)
  }
  const rotation = parseKeyRotation(text)
  const accepted = verifyKeyRotation(rotation, current)
  const state: RotatedKeysState = { formatVersion: 1, version: accepted.version, fileKeysDigest: current.fileKeysDigest, rotation, acceptedAt: new Date().toISOString() }
  mkdirSync(otaPaths(dataDir).root, { recursive: true, mode: 0o700 })
  writeFileAtomic(rotatedKeysPath(dataDir), `${JSON.stringify(state, null, 2)}\n`, 0o600)
  return { keys: accepted.keys, version: accepted.version, source: 'rotation', fileKeysDigest: current.fileKeysDigest }
}
