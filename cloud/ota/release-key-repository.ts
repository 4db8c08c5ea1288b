/** An Ed25519 public key allowed to sign release bundles (added by an admin; keys from config files are not stored). */
export interface ReleaseKeyRecord {
  /** Fingerprint: the first 16 hex digits of the sha256 of the key's DER (SPKI) bytes. */
  id: string
  name: string
  publicKeyPem: string
  addedBy: string
  addedAt: number
}

export interface ReleaseKeyRepository {
  /** Adds a key; rejects with HUB_ERR_CONFLICT when a key with this id is already trusted. */
  add(key: ReleaseKeyRecord): Promise<void>
  list(): Promise<ReleaseKeyRecord[]>
  /** false when there is no such key. */
  remove(id: string): Promise<boolean>
}
