import { verifyBundle } from '../../shared/ota/bundle.js'
import type { UploadedBundleVerifier } from './bundle-verifier.js'

/**
 * The hub's verifier is the same streaming verifier the edge updater runs
 * (shared/ota): signature by a trusted key, expiry, every payload file's size
 * and sha256, no unlisted or mixed-in entries. Its OTA_ERR_* codes answer the
 * upload unchanged. Target and version are the device's business.
 */
export const sharedBundleVerifier: UploadedBundleVerifier = {
  async verify(bundlePath, options) {
    const verified = await verifyBundle(bundlePath, { trustedKeys: options.trustedKeys, now: options.now, maxBytes: options.maxBytes })
    return { manifest: verified.manifest, keyId: verified.keyId }
  },
}
