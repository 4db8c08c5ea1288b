import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'

// DER prefixes of Ed25519 keys (RFC 8410): SPKI for a public key, PKCS#8 for a
// private key; each is followed by the 32 raw key bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The 32 raw bytes of an Ed25519 public key, base64: the form devices send at enrolment. */
export function encodePublicKey(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return der.subarray(SPKI_PREFIX.length).toString('base64')
}

/** Parses a base64 raw Ed25519 public key; throws a TypeError naming what is wrong. */
export function decodePublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== base64) {
    throw new TypeError('an Ed25519 public key is 32 bytes, sent as standard base64 (44 characters)')
  }
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

/** A private key from a 32-byte seed (test vectors; a device keeps its key as PKCS#8 PEM). */
export function privateKeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes')
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

export function generateDeviceKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ed25519')
}
