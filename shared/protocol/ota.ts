/**
 * OTA wire shapes shared by the hub and the edge updater (issue: OTA update
 * channel). The bundle format itself is documented in docs/formats/ota.md;
 * firmware/ holds the tooling that builds, signs and verifies bundles.
 */

export const BUNDLE_KINDS = ['runtime', 'firmware', 'model'] as const
export type BundleKind = (typeof BUNDLE_KINDS)[number]

/** One payload file of a bundle, as listed in the manifest. */
export interface BundleFileEntry {
  /** Relative POSIX path inside the bundle, no `..`, no leading `/`. */
  path: string
  size: number
  /** Hex sha256 of the file's bytes. */
  sha256: string
}

/** The manifest (manifest.json inside the bundle); the release key signs its canonical JSON. */
export interface BundleManifest {
  formatVersion: 1
  /** Random id of this bundle; every file entry belongs to it (no mixing of bundles). */
  bundleId: string
  name: string
  /** Semver. */
  version: string
  kind: BundleKind
  /** Glob-like patterns the device must match (e.g. arch "x64", tier "standard"). */
  target: { arch?: string[]; tier?: string[]; hardware?: string[] }
  /** Lowest installed version this bundle may update from (semver), if any. */
  minFromVersion?: string
  /** ISO 8601; a bundle past it is refused (freeze attack). */
  expiresAt: string
  createdAt: string
  files: BundleFileEntry[]
  /** Total bytes of the payload files. */
  payloadBytes: number
}

/** The hub's answer to GET /v1/devices/me/ota: what the device should run now. */
export interface OtaTarget {
  /** null when the device has nothing to install. */
  release: null | {
    releaseId: string
    rolloutId: string
    name: string
    version: string
    kind: BundleKind
    /** Bytes of the whole bundle file (for the disk-space check and Range resume). */
    bundleBytes: number
    /** Hex sha256 of the whole bundle file. */
    bundleSha256: string
    /** Path on the hub (GET, supports Range, device-signed). */
    downloadPath: string
    /** Admin allowed installing this even if it is a lower version than installed. */
    allowDowngrade: boolean
  }
}

export const OTA_DEVICE_STATES = [
  'pending',
  'downloading',
  'verifying',
  'installing',
  'trial',
  'committed',
  'rolled-back',
  'failed',
] as const
export type OtaDeviceState = (typeof OTA_DEVICE_STATES)[number]

/** POST /v1/devices/me/ota/report: the edge reports progress and the outcome. */
export interface OtaReport {
  rolloutId: string
  releaseId: string
  state: OtaDeviceState
  /** Stable error code (shared/errors.ts) when state is failed or rolled-back. */
  code?: string
  reason?: string
  /** Version running after this step. */
  runningVersion: string
  at: number
}
