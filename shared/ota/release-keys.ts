import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { canonicalJson } from '../canonical-json.js'
import { CloudosError } from '../errors.js'
import type { BundleManifest } from './manifest.js'

/** The detached signature stored as manifest.sig in a bundle. */
export interface ManifestSignature {
  algorithm: 'ed25519'
  /** Id of the release key (releaseKeyId of its public key). */
  keyId: string
  /** bundleId of the manifest it signs: a signature cannot be moved to another bundle unnoticed. */
  bundleId: string
  /** Base64 Ed25519 signature over the manifest's canonical JSON (UTF-8). */
  signature: string
}

export interface ReleaseKeyPair {
  keyId: string
  privateKeyPem: string
  publicKeyPem: string
}

/** A release key's id: the first 16 hex digits of the sha256 of its SPKI DER public key. */
export function releaseKeyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

/** A new Ed25519 release key pair, PEM encoded (PKCS#8 private, SPKI public). */
export function generateReleaseKey(): ReleaseKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    keyId: releaseKeyId(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

/** Parses a PEM release public key (a private key PEM gives its public half); FIRMWARE_ERR_KEY_UNREADABLE otherwise. */
export function parseReleasePublicKey(pem: string, source = 'key'): KeyObject {
  let key: KeyObject
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem)
  } catch (err) {
    throw new CloudosError('FIRMWARE_ERR_KEY_UNREADABLE', `${source}: not a PEM public key (${(err as Error).message})`)
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CloudosError('FIRMWARE_ERR_KEY_UNREADABLE', `${source}: a ${key.asymmetricKeyType} key, release keys are Ed25519`)
  }
  return key
}

export function parseReleasePrivateKey(pem: string, source = 'key'): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch (err) {
    throw new CloudosError('FIRMWARE_ERR_KEY_UNREADABLE', `${source}: not a PEM private key (${(err as Error).message})`)
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CloudosError('FIRMWARE_ERR_KEY_UNREADABLE', `${source}: a ${key.asymmetricKeyType} key, release keys are Ed25519`)
  }
  return key
}

/** The exact bytes a release key signs: the manifest's canonical JSON. */
export function manifestSigningBytes(manifest: BundleManifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8')
}

export function signManifest(manifest: BundleManifest, privateKey: KeyObject): ManifestSignature {
  return {
    algorithm: 'ed25519',
    keyId: releaseKeyId(privateKey),
    bundleId: manifest.bundleId,
    signature: sign(null, manifestSigningBytes(manifest), privateKey).toString('base64'),
  }
}

/**
 * Checks a signature against the trusted keys: OTA_ERR_UNTRUSTED_KEY when no
 * trusted key has its key id, OTA_ERR_BAD_SIGNATURE when it does not verify,
 * OTA_ERR_BUNDLE_MIXED when it names another bundle. Returns the key id.
 */
export function verifyManifestSignature(manifest: BundleManifest, signature: ManifestSignature, trustedKeys: readonly KeyObject[]): string {
  const key = trustedKeys.find((k) => releaseKeyId(k) === signature.keyId)
  if (key === undefined) {
    throw new CloudosError('OTA_ERR_UNTRUSTED_KEY', `signed by release key ${signature.keyId}, which is not among the ${trustedKeys.length} trusted keys`, {
      keyId: signature.keyId,
    })
  }
  if (signature.bundleId !== manifest.bundleId) {
    throw new CloudosError('OTA_ERR_BUNDLE_MIXED', `the signature belongs to bundle ${signature.bundleId}, the manifest is bundle ${manifest.bundleId}`)
  }
  let valid = false
  try {
    valid = verify(null, manifestSigningBytes(manifest), key, Buffer.from(signature.signature, 'base64'))
  } catch {
    valid = false
  }
  if (!valid) throw new CloudosError('OTA_ERR_BAD_SIGNATURE', `the signature by release key ${signature.keyId} does not verify over the manifest`)
  return signature.keyId
}

/** Parses manifest.sig; OTA_ERR_UNSIGNED when it has no usable signature. */
export function parseManifestSignature(text: string): ManifestSignature {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new CloudosError('OTA_ERR_UNSIGNED', 'manifest.sig is not JSON')
  }
  const s = value as Partial<ManifestSignature> | null
  if (
    s === null ||
    typeof s !== 'object' ||
    s.algorithm !== 'ed25519' ||
    typeof s.keyId !== 'string' ||
    typeof s.bundleId !== 'string' ||
    typeof s.signature !== 'string' ||
    s.signature.length === 0
  ) {
    throw new CloudosError('OTA_ERR_UNSIGNED', 'manifest.sig holds no ed25519 signature {algorithm, keyId, bundleId, signature}')
  }
  return { algorithm: 'ed25519', keyId: s.keyId, bundleId: s.bundleId, signature: s.signature }
}
