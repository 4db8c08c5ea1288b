import { sign, verify, type KeyObject } from 'node:crypto'
import { canonicalJson } from '../canonical-json.js'
import { CloudosError } from '../errors.js'
import { parseReleasePublicKey, releaseKeyId } from './release-keys.js'

/**
 * Release key rotation (TUF-style root rotation, TUF spec section 5.3.4):
 * a statement naming the new set of release keys and a version that only
 * grows, signed by a key the device trusts now AND by a key of the new set
 * (so a typo or a key nobody holds cannot lock the fleet out). It travels
 * as the payload file `release-keys.json` of an OTA bundle of kind
 * `release-keys` (itself signed by a trusted key like every bundle); the
 * edge verifies it against the keys it trusts now, refuses any version not
 * above the one in effect (replay of an older statement), then trusts the
 * new set instead of the old (edge/ota/trusted-release-keys.ts).
 */
export const KEY_ROTATION_FILE = 'release-keys.json'
export const KEY_ROTATION_BUNDLE_NAME = 'release-keys'
export const KEY_ROTATION_TYPE = 'cloudos-release-keys'
/** Signatures are over this prefix + the statement's canonical JSON: a manifest signature can never pass for one. */
const SIGNING_CONTEXT = 'cloudos-release-keys-v1\n'
export const MAX_ROTATION_BYTES = 64 * 1024
const MAX_KEYS = 16
const MAX_SIGNATURES = 16

export interface KeyRotationStatement {
  type: typeof KEY_ROTATION_TYPE
  /** Integer >= 1; each rotation must carry a higher one than the last the device accepted. */
  version: number
  /** The new trusted release public keys (Ed25519, SPKI PEM). */
  keys: string[]
  createdAt: string
}

export interface KeyRotationSignature {
  keyId: string
  /** Base64 Ed25519 signature over SIGNING_CONTEXT + canonical JSON of the statement. */
  signature: string
}

export interface SignedKeyRotation {
  statement: KeyRotationStatement
  signatures: KeyRotationSignature[]
}

function refused(message: string, details?: Record<string, unknown>): CloudosError {
  return new CloudosError('OTA_ERR_ROTATION_REFUSED', message, details)
}

function signingBytes(statement: KeyRotationStatement): Buffer {
  return Buffer.from(SIGNING_CONTEXT + canonicalJson(statement), 'utf8')
}

/** Signs a statement with each private key given (the current key and at least one key of the new set). */
export function signKeyRotation(statement: KeyRotationStatement, privateKeys: readonly KeyObject[]): SignedKeyRotation {
  return {
    statement,
    signatures: privateKeys.map((key) => ({ keyId: releaseKeyId(key), signature: sign(null, signingBytes(statement), key).toString('base64') })),
  }
}

/** Parses `release-keys.json` (bounded, every field checked); OTA_ERR_ROTATION_REFUSED otherwise. */
export function parseKeyRotation(text: string): SignedKeyRotation {
  if (Buffer.byteLength(text, 'utf8') > MAX_ROTATION_BYTES) throw refused(`${KEY_ROTATION_FILE} is larger than ${MAX_ROTATION_BYTES} bytes`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw refused(`${KEY_ROTATION_FILE} is not JSON`)
  }
  const v = value as Partial<SignedKeyRotation> | null
  const s = v?.statement as Partial<KeyRotationStatement> | undefined
  if (v === null || typeof v !== 'object' || s === undefined || s === null || typeof s !== 'object') throw refused(`${KEY_ROTATION_FILE} holds no {statement, signatures}`)
  if (s.type !== KEY_ROTATION_TYPE) throw refused(`statement.type must be "${KEY_ROTATION_TYPE}"`)
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1) throw refused('statement.version must be an integer >= 1')
  if (!Array.isArray(s.keys) || s.keys.length === 0 || s.keys.length > MAX_KEYS || !s.keys.every((k) => typeof k === 'string' && k.length > 0 && k.length < 4096)) {
    throw refused(`statement.keys must be 1-${MAX_KEYS} PEM public keys`)
  }
  if (typeof s.createdAt !== 'string' || Number.isNaN(Date.parse(s.createdAt))) throw refused('statement.createdAt must be an ISO 8601 date')
  const signatures = v.signatures
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES) throw refused(`signatures must be 1-${MAX_SIGNATURES} {keyId, signature}`)
  for (const sig of signatures as Partial<KeyRotationSignature>[]) {
    if (sig === null || typeof sig !== 'object' || typeof sig.keyId !== 'string' || typeof sig.signature !== 'string') throw refused('each signature must be {keyId, signature}')
  }
  const statement: KeyRotationStatement = { type: KEY_ROTATION_TYPE, version: s.version as number, keys: [...s.keys], createdAt: s.createdAt }
  return { statement, signatures: (signatures as KeyRotationSignature[]).map((sig) => ({ keyId: sig.keyId, signature: sig.signature })) }
}

/** The key ids whose signature verifies among `keys`. */
function signersAmong(rotation: SignedKeyRotation, keys: readonly KeyObject[]): string[] {
  const bytes = signingBytes(rotation.statement)
  const verified: string[] = []
  for (const sig of rotation.signatures) {
    const key = keys.find((k) => releaseKeyId(k) === sig.keyId)
    if (key === undefined) continue
    let ok = false
    try {
      ok = verify(null, bytes, key, Buffer.from(sig.signature, 'base64'))
    } catch {
      ok = false
    }
    if (ok) verified.push(sig.keyId)
  }
  return verified
}

/**
 * Checks a rotation against the keys trusted now and the version in effect:
 * OTA_ERR_ROTATION_REFUSED when its version is not above `currentVersion`
 * (replay), when no trusted key signed it, or when no key of the new set
 * did. Returns the new keys.
 */
export function verifyKeyRotation(rotation: SignedKeyRotation, trusted: { keys: readonly KeyObject[]; version: number }): { version: number; keys: KeyObject[] } {
  const { statement } = rotation
  if (statement.version <= trusted.version) {
    throw refused(`rotation version ${statement.version} is not above the version in effect (${trusted.version}): an old statement replayed`, { version: statement.version, current: trusted.version })
  }
  const newKeys = statement.keys.map((pem, i) => parseReleasePublicKey(pem, `statement.keys[${i}]`))
  if (signersAmong(rotation, trusted.keys).length === 0) {
    throw refused(`rotation ${statement.version} is not signed by any of the ${trusted.keys.length} release keys trusted now (signers: ${rotation.signatures.map((s) => s.keyId).join(', ')})`)
  }
  if (signersAmong(rotation, newKeys).length === 0) {
    throw refused(`rotation ${statement.version} is not signed by any key of its new set: proof that the new keys are held is missing`)
  }
  return { version: statement.version, keys: newKeys }
}
