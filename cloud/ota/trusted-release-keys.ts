import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { CloudosError } from '../../shared/errors.js'
import type { ReleaseKeyRepository } from './release-key-repository.js'

/** A release key the hub trusts, from a config file or added by an admin. */
export interface TrustedReleaseKey {
  id: string
  name: string
  source: 'config' | 'admin'
  key: KeyObject
  publicKeyPem: string
}

/** The first 16 hex digits of the sha256 of the key's SPKI DER bytes (the id `cloudos firmware keygen` prints). */
export function releaseKeyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

/** Parses an Ed25519 public key in PEM (SPKI); a private key is refused: the hub never holds one. */
export function parseReleaseKeyPem(pem: string, source: string): { key: KeyObject; publicKeyPem: string; id: string } {
  if (pem.includes('PRIVATE KEY')) {
    throw new CloudosError('RELEASE_ERR_KEY_INVALID', `${source} is a private key: give the hub the public key only (the .pub.pem file)`)
  }
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch (err) {
    throw new CloudosError('RELEASE_ERR_KEY_INVALID', `${source} is not a PEM public key: ${(err as Error).message}`)
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CloudosError('RELEASE_ERR_KEY_INVALID', `${source} is a ${key.asymmetricKeyType ?? 'unknown'} key; release keys are Ed25519`)
  }
  return { key, publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(), id: releaseKeyFingerprint(key) }
}

/** Reads the key files named in the hub config (ota.trustedKeyFiles) once, at start. */
export function loadConfiguredReleaseKeys(files: readonly string[]): TrustedReleaseKey[] {
  return files.map((file) => {
    let pem: string
    try {
      pem = readFileSync(file, 'utf8')
    } catch (err) {
      throw new CloudosError('RELEASE_ERR_KEY_INVALID', `cannot read release key ${file}: ${(err as Error).message}`, { file })
    }
    const parsed = parseReleaseKeyPem(pem, file)
    return { ...parsed, name: file, source: 'config' as const }
  })
}

/** Every key the hub trusts now: the configured ones, then the ones admins added. */
export class TrustedReleaseKeys {
  constructor(
    private readonly configured: readonly TrustedReleaseKey[],
    private readonly repository: ReleaseKeyRepository,
  ) {}

  async all(): Promise<TrustedReleaseKey[]> {
    const added = (await this.repository.list()).map((record) => ({ ...parseReleaseKeyPem(record.publicKeyPem, `release key ${record.id}`), name: record.name, source: 'admin' as const }))
    const seen = new Set(this.configured.map((k) => k.id))
    return [...this.configured, ...added.filter((k) => !seen.has(k.id))]
  }

  isConfigured(id: string): boolean {
    return this.configured.some((k) => k.id === id)
  }
}
