import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../../shared/errors.js'
import { writeFileAtomic } from '../../shared/atomic-file.js'

export const HUB_IDENTITY_FILE = 'hub-identity.json'
export const HUB_PRIVATE_KEY_FILE = 'hub-key.pem'

/** The public half, written last by `hub init`: its presence means "initialised". */
export interface HubIdentityFile {
  version: 1
  hubId: string
  createdAt: string
  /** Ed25519 public key, SPKI PEM. */
  publicKeyPem: string
}

/** The hub's Ed25519 signing identity (signs the audit head; later, hub-issued documents). */
export class HubIdentity {
  private constructor(
    readonly hubId: string,
    readonly publicKey: KeyObject,
    private readonly privateKey: KeyObject | undefined,
  ) {}

  /** A new key pair, in memory only: `persist` writes it. */
  static generate(): HubIdentity {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    return new HubIdentity(`hub-${randomUUID()}`, publicKey, privateKey)
  }

  /**
   * Writes the private key (mode 0600) and then the identity file, each
   * atomically; the identity file is the "initialised" marker, so it goes last.
   */
  persist(dataDir: string, now: Date = new Date()): void {
    if (this.privateKey === undefined) throw new Error('cannot persist an identity loaded without its private key')
    writeFileAtomic(join(dataDir, HUB_PRIVATE_KEY_FILE), this.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600)
    const file: HubIdentityFile = {
      version: 1,
      hubId: this.hubId,
      createdAt: now.toISOString(),
      publicKeyPem: this.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    }
    writeFileAtomic(join(dataDir, HUB_IDENTITY_FILE), `${JSON.stringify(file, null, 2)}\n`, 0o644)
  }

  /**
   * Loads the identity. With `withPrivateKey: false` only the public key is
   * read (what `audit verify` needs), so verification works from a copy of the
   * data dir that holds no secret.
   */
  static load(dataDir: string, { withPrivateKey = true }: { withPrivateKey?: boolean } = {}): HubIdentity {
    const identityPath = join(dataDir, HUB_IDENTITY_FILE)
    if (!existsSync(identityPath)) {
      throw new CloudosError('HUB_ERR_NOT_INITIALISED', `${dataDir} is not an initialised hub data directory (no ${HUB_IDENTITY_FILE})`)
    }
    try {
      const file = JSON.parse(readFileSync(identityPath, 'utf8')) as HubIdentityFile
      const publicKey = createPublicKey(file.publicKeyPem)
      let privateKey: KeyObject | undefined
      if (withPrivateKey) {
        const keyPath = join(dataDir, HUB_PRIVATE_KEY_FILE)
        // Like OpenSSH: a private key others can read is refused, not used.
        const mode = statSync(keyPath).mode & 0o777
        if ((mode & 0o077) !== 0) throw new Error(`${HUB_PRIVATE_KEY_FILE} is readable by others (mode ${mode.toString(8)}): run chmod 600 ${keyPath}`)
        privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'))
        // The two files must be halves of one pair.
        if (!createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).equals(publicKey.export({ type: 'spki', format: 'der' }))) {
          throw new Error(`${HUB_PRIVATE_KEY_FILE} does not belong to the public key in ${HUB_IDENTITY_FILE}`)
        }
      }
      return new HubIdentity(file.hubId, publicKey, privateKey)
    } catch (err) {
      throw new CloudosError('HUB_ERR_IDENTITY_UNREADABLE', `cannot load the hub identity from ${dataDir}: ${(err as Error).message}`)
    }
  }

  /** Ed25519 signature (base64). */
  sign(message: Buffer | string): string {
    if (this.privateKey === undefined) throw new Error('the hub identity was loaded without its private key')
    return sign(null, Buffer.from(message), this.privateKey).toString('base64')
  }

  verify(message: Buffer | string, signatureBase64: string): boolean {
    try {
      return verify(null, Buffer.from(message), this.publicKey, Buffer.from(signatureBase64, 'base64'))
    } catch {
      return false
    }
  }
}
