import { CloudosError } from '../../shared/errors.js'
import type { ReleaseKeyRecord, ReleaseKeyRepository } from './release-key-repository.js'
import type { ReleaseId, ReleaseRecord, ReleaseRepository } from './release-repository.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import type { BundleKind } from '../../shared/protocol/ota.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'

interface ReleaseKeyRow {
  id: string
  name: string
  public_key_pem: string
  added_by: string
  added_at: number
}

interface ReleaseRow {
  id: string
  name: string
  version: string
  kind: string
  manifest: string
  bundle_file: string
  bundle_bytes: number
  bundle_sha256: string
  signing_key_id: string
  uploaded_by: string
  uploaded_at: number
}

const toKey = (row: ReleaseKeyRow): ReleaseKeyRecord => ({ id: row.id, name: row.name, publicKeyPem: row.public_key_pem, addedBy: row.added_by, addedAt: row.added_at })

const toRelease = (row: ReleaseRow): ReleaseRecord => ({
  id: row.id as ReleaseId,
  name: row.name,
  version: row.version,
  kind: row.kind as BundleKind,
  manifest: JSON.parse(row.manifest) as BundleManifest,
  bundleFile: row.bundle_file,
  bundleBytes: row.bundle_bytes,
  bundleSha256: row.bundle_sha256,
  signingKeyId: row.signing_key_id,
  uploadedBy: row.uploaded_by,
  uploadedAt: row.uploaded_at,
})

const isUniqueViolation = (err: unknown) => ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes((err as { code?: string }).code ?? '')

export class SqliteReleaseKeyRepository implements ReleaseKeyRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async add(key: ReleaseKeyRecord): Promise<void> {
    try {
      this.db.prepare('INSERT INTO release_keys (id, name, public_key_pem, added_by, added_at) VALUES (?, ?, ?, ?, ?)').run(key.id, key.name, key.publicKeyPem, key.addedBy, key.addedAt)
    } catch (err) {
      if (isUniqueViolation(err)) throw new CloudosError('HUB_ERR_CONFLICT', `release key ${key.id} is already trusted`, { keyId: key.id })
      throw err
    }
  }

  async list(): Promise<ReleaseKeyRecord[]> {
    return (this.db.prepare('SELECT * FROM release_keys ORDER BY added_at, id').all() as ReleaseKeyRow[]).map(toKey)
  }

  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM release_keys WHERE id = ?').run(id).changes === 1
  }
}

export class SqliteReleaseRepository implements ReleaseRepository {
  constructor(private readonly db: SqliteDatabase) {}

  async create(release: ReleaseRecord): Promise<void> {
    try {
      this.db
        .prepare(
          `INSERT INTO releases (id, name, version, kind, manifest, bundle_file, bundle_bytes, bundle_sha256, signing_key_id, uploaded_by, uploaded_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(release.id, release.name, release.version, release.kind, JSON.stringify(release.manifest), release.bundleFile, release.bundleBytes, release.bundleSha256, release.signingKeyId, release.uploadedBy, release.uploadedAt)
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new CloudosError('RELEASE_ERR_DUPLICATE', `a release ${release.name} ${release.version} is already stored`, { name: release.name, version: release.version })
      }
      throw err
    }
  }

  async findById(id: ReleaseId): Promise<ReleaseRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as ReleaseRow | undefined
    return row && toRelease(row)
  }

  async list(options: { limit: number; offset?: number }): Promise<ReleaseRecord[]> {
    return (this.db.prepare('SELECT * FROM releases ORDER BY uploaded_at DESC, id LIMIT ? OFFSET ?').all(options.limit, options.offset ?? 0) as ReleaseRow[]).map(toRelease)
  }

  async delete(id: ReleaseId): Promise<'deleted' | 'not_found' | 'in_use'> {
    const run = this.db.transaction((): 'deleted' | 'not_found' | 'in_use' => {
      if (this.db.prepare('SELECT 1 FROM releases WHERE id = ?').get(id) === undefined) return 'not_found'
      if (this.db.prepare("SELECT 1 FROM rollouts WHERE release_id = ? AND state IN ('running', 'paused')").get(id) !== undefined) return 'in_use'
      this.db.prepare('DELETE FROM releases WHERE id = ?').run(id)
      return 'deleted'
    })
    return run.immediate()
  }
}
