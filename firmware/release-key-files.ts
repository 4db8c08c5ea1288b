import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { CloudosError } from '../shared/errors.js'
import { generateReleaseKey, parseReleasePrivateKey, parseReleasePublicKey } from '../shared/ota/release-keys.js'

/** Reads a PEM file; FIRMWARE_ERR_KEY_UNREADABLE when it cannot be read. */
function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CloudosError('FIRMWARE_ERR_KEY_UNREADABLE', `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

export function loadReleasePrivateKey(path: string): KeyObject {
  return parseReleasePrivateKey(readPem(path), path)
}

/** A trusted key given as PEM text or as a path to a PEM file. */
export function loadReleasePublicKey(pemOrPath: string): KeyObject {
  return pemOrPath.includes('-----BEGIN') ? parseReleasePublicKey(pemOrPath, 'inline PEM') : parseReleasePublicKey(readPem(pemOrPath), pemOrPath)
}

/**
 * Writes a new release key pair into `dir`: release-key.pem (private, mode
 * 0600, never overwritten) and release-key.pub.pem (public, for trust lists).
 */
export function writeReleaseKeyPair(dir: string, name = 'release-key'): { keyId: string; privateKeyPath: string; publicKeyPath: string } {
  const pair = generateReleaseKey()
  const privateKeyPath = join(dir, `${name}.pem`)
  const publicKeyPath = join(dir, `${name}.pub.pem`)
  try {
    writeFileSync(privateKeyPath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' })
    writeFileSync(publicKeyPath, pair.publicKeyPem, { mode: 0o644, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CloudosError('FIRMWARE_ERR_OUTPUT_EXISTS', `${(err as NodeJS.ErrnoException).path ?? privateKeyPath} already exists; keys are never overwritten`)
    }
    throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `cannot write keys into ${dir}: ${(err as Error).message}`)
  }
  return { keyId: pair.keyId, privateKeyPath, publicKeyPath }
}
