import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodePublicKey } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'

export const DEVICE_IDENTITY_FILE = 'device-identity.json'
export const DEVICE_KEY_FILE = 'device-key.pem'

/** What the device keeps after enrolling: who it is, where its hub is, its key. */
export interface DeviceIdentity {
  deviceId: string
  hubUrl: string
  hubId: string
  group: string
  tier: string
  /** The device public key as enrolled (32 raw bytes, base64). */
  publicKey: string
  /** The hub's Ed25519 key (SPKI PEM), for documents the hub signs. */
  hubPublicKeyPem: string
  enrolledAt: string
  privateKey: KeyObject
}

type IdentityFile = Omit<DeviceIdentity, 'privateKey'> & { version: 1 }

export function hasDeviceIdentity(dataDir: string): boolean {
  return existsSync(join(dataDir, DEVICE_IDENTITY_FILE))
}

/** Loads the identity, checking that the key file matches the enrolled public key. */
export function loadDeviceIdentity(dataDir: string): DeviceIdentity {
  const identityPath = join(dataDir, DEVICE_IDENTITY_FILE)
  const keyPath = join(dataDir, DEVICE_KEY_FILE)
  const unreadable = (why: string) =>
    new CloudosError('EDGE_ERR_HUB_IDENTITY_UNREADABLE', `device identity in ${dataDir}: ${why}`, { dataDir })
  let file: IdentityFile
  let privateKey: KeyObject
  try {
    file = JSON.parse(readFileSync(identityPath, 'utf8')) as IdentityFile
  } catch (err) {
    throw unreadable(`${DEVICE_IDENTITY_FILE}: ${(err as Error).message}`)
  }
  if (file.version !== 1 || typeof file.deviceId !== 'string' || typeof file.hubUrl !== 'string' || typeof file.publicKey !== 'string') {
    throw unreadable(`${DEVICE_IDENTITY_FILE} is not a version 1 device identity`)
  }
  try {
    privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'))
  } catch (err) {
    throw unreadable(`${DEVICE_KEY_FILE}: ${(err as Error).message}`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519' || encodePublicKey(createPublicKey(privateKey)) !== file.publicKey) {
    throw unreadable(`${DEVICE_KEY_FILE} is not the key this device enrolled with`)
  }
  const { version: _version, ...rest } = file
  return { ...rest, privateKey }
}

/**
 * Stores the identity: the private key first (mode 0600, never readable by
 * others, not even briefly), the identity file last, each written to a temp
 * file and renamed, so a crash leaves either no identity or a whole one.
 */
export function saveDeviceIdentity(dataDir: string, identity: DeviceIdentity): void {
  const pem = identity.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  writeAtomically(join(dataDir, DEVICE_KEY_FILE), pem, 0o600)
  const { privateKey: _privateKey, ...rest } = identity
  const file: IdentityFile = { version: 1, ...rest }
  writeAtomically(join(dataDir, DEVICE_IDENTITY_FILE), `${JSON.stringify(file, null, 2)}\n`, 0o600)
}

function writeAtomically(path: string, content: string, mode: number): void {
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, content, { mode, flag: 'w' })
  chmodSync(temp, mode) // the umask may have narrowed it; make it exact.
  renameSync(temp, path)
}
