import type { BundleKind } from '../../shared/protocol/ota.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'

export type ReleaseId = string & { readonly __releaseId: true }

/** A verified bundle stored by the hub. */
export interface ReleaseRecord {
  id: ReleaseId
  name: string
  version: string
  kind: BundleKind
  manifest: BundleManifest
  /** File name of the bundle inside `<data-dir>/releases/`. */
  bundleFile: string
  bundleBytes: number
  /** Hex sha256 of the whole bundle file. */
  bundleSha256: string
  /** Id of the release key whose signature verified. */
  signingKeyId: string
  uploadedBy: string
  uploadedAt: number
}

export interface ReleaseRepository {
  /** Adds a release; rejects with RELEASE_ERR_DUPLICATE when one with this name and version exists. */
  create(release: ReleaseRecord): Promise<void>
  findById(id: ReleaseId): Promise<ReleaseRecord | undefined>
  /** Newest upload first. */
  list(options: { limit: number; offset?: number }): Promise<ReleaseRecord[]>
  /**
   * Deletes the release unless a running or paused rollout uses it (checked in
   * the same transaction). Rollouts that are over keep their history: the
   * release row goes, the rollout rows keep its id.
   */
  delete(id: ReleaseId): Promise<'deleted' | 'not_found' | 'in_use'>
}
