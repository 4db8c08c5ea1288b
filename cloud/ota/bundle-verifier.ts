import type { KeyObject } from 'node:crypto'
import type { BundleManifest } from '../../shared/ota/manifest.js'

export interface VerifiedUpload {
  manifest: BundleManifest
  /** Id of the release key whose signature verified. */
  keyId: string
}

/**
 * Checks an uploaded bundle file before the hub stores it: signed by a
 * trusted release key, not expired, every payload file as the manifest says.
 * Refusals are CloudosErrors whose code the upload answers with unchanged.
 * The hub does not check the target or the version: those are per device.
 */
export interface UploadedBundleVerifier {
  verify(bundlePath: string, options: { trustedKeys: readonly KeyObject[]; now: number; maxBytes: number }): Promise<VerifiedUpload>
}
