import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodePublicKey } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'

export const DEVICE_IDENTITY_FILE = 'device-identity.json'
export const DEVICE_KEY_FILE = 'device-key.pem'
/** The hub CA pinned at enrolment (PEM, 0600): every connection to the hub must chain to it. */
export const HUB_CA_FILE = 'hub-ca.pem'

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
  /** `sha256:<hex SPKI>` of the hub CA, from the enrolment token (absent: enrolled before TLS, or with a token without pin). */
  hubCaPin?: string
  /** The hub CA certificate (PEM) whose key matches hubCaPin; kept in hub-ca.pem. */
  hubCaPem?: string
  privateKey: KeyObject
}

type IdentityFile = Omit<DeviceIdentity, 'privateKey' | 'hubCaPem'> & { version: 1 }

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
  const caPath = join(dataDir, HUB_CA_FILE)
  let hubCaPem: string | undefined
  if (existsSync(caPath)) {
    try {
      hubCaPem = readFileSync(caPath, 'utf8')
    } catch (err) {
      throw unreadable(`${HUB_CA_FILE}: ${(err as Error).message}`)
    }
  } else if (file.hubCaPin !== undefined && !file.hubUrl.startsWith('http:')) {
    // Pinned over TLS, then the CA file went missing: trusting nothing is the only safe reading.
    throw unreadable(`${HUB_CA_FILE} is missing but the identity pins ${file.hubCaPin}; restore it from a backup`)
  }
  return { ...rest, ...(hubCaPem === undefined ? {} : { hubCaPem }), privateKey }
}

/**
 * Stores the identity: the private key first (mode 0600, never readable by
 * others, not even briefly), then the pinned hub CA, the identity file last, each written to a temp
 * file and renamed, so a crash leaves either no identity or a whole one.
 */
export function saveDeviceIdentity(dataDir: string, identity: DeviceIdentity): void {
  const pem = identity.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  writeAtomically(join(dataDir, DEVICE_KEY_FILE), pem, 0o600)
  if (identity.hubCaPem !== undefined) writeAtomically(join(dataDir, HUB_CA_FILE), identity.hubCaPem, 0o600)
  const { privateKey: _privateKey, hubCaPem: _hubCaPem, ...rest } = identity
  const file: IdentityFile = { version: 1, ...rest }
  writeAtomically(join(dataDir, DEVICE_IDENTITY_FILE), `${JSON.stringify(file, null, 2)}\n`, 0o600)
}

function writeAtomically(path: string, content: string, mode: number): void {
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, content, { mode, flag: 'w' })
  chmodSync(temp, mode) // the umask may have narrowed it; make it exact.
  renameSync(temp, path)
}
