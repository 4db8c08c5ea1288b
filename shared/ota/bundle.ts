/**
 * The OTA bundle format (docs/formats/ota.md), one import for both sides:
 * the hub verifies uploads with it, the edge updater verifies and extracts
 * downloads, `cloudos firmware` builds, signs and inspects.
 */
export { readBundleManifest, verifyBundle, DEFAULT_MAX_BUNDLE_BYTES, type VerifiedBundle, type VerifyBundleOptions } from './bundle-verify.js'
export { buildBundle, writeBundleEntries, bundleEntries, type BuildBundleOptions, type BundleEntrySource } from './bundle-writer.js'
export { signBundle } from './bundle-sign.js'
export {
  generateReleaseKey,
  releaseKeyId,
  signManifest,
  verifyManifestSignature,
  parseReleasePublicKey,
  parseReleasePrivateKey,
  type ManifestSignature,
  type ReleaseKeyPair,
} from './release-keys.js'
export { checkTarget, checkExpiry, checkVersion, isSafeBundlePath, parseManifest, type DeviceTarget } from './manifest.js'
export { BUNDLE_ID_PAX_KEY, MANIFEST_ENTRY, SIGNATURE_ENTRY, PAYLOAD_PREFIX } from './bundle-stream.js'
