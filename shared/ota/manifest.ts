import semver from 'semver'
import { CloudosError } from '../errors.js'
import { HUB_IDENTIFIER_PATTERN } from '../protocol/identifiers.js'
import { BUNDLE_KINDS, type BundleKind } from '../protocol/ota.js'

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

/** Largest manifest.json accepted (a bundle of ~10k files fits). */
export const MAX_MANIFEST_BYTES = 2 * 1024 * 1024
export const MAX_SIGNATURE_BYTES = 4096
const MAX_FILES = 100_000

function invalid(message: string): CloudosError {
  return new CloudosError('OTA_ERR_MANIFEST_INVALID', message)
}

/**
 * A path is safe to extract when it is relative, POSIX, made of plain
 * segments (no `..`, `.`, empty segment, backslash or NUL) and not too long.
 */
export function isSafeBundlePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
}

/** Parses and checks manifest.json's shape; OTA_ERR_MANIFEST_INVALID / OTA_ERR_PATH_UNSAFE / OTA_ERR_FILE_UNLISTED (listed twice). */
export function parseManifest(text: string): BundleManifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw invalid(`manifest.json is not JSON: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('manifest.json is not an object')
  const m = value as Record<string, unknown>
  if (m.formatVersion !== 1) throw invalid(`formatVersion ${JSON.stringify(m.formatVersion)} is not supported (expected 1)`)
  for (const key of ['bundleId', 'name', 'version', 'kind', 'expiresAt', 'createdAt'] as const) {
    if (typeof m[key] !== 'string' || (m[key] as string).length === 0) throw invalid(`"${key}" must be a non-empty string`)
  }
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(m.bundleId as string)) throw invalid('"bundleId" must be 8-64 characters of A-Z a-z 0-9 _ -')
  // The name travels to devices as an identifier (shared/protocol/identifiers.ts): same pattern at build, upload and install.
  if (!HUB_IDENTIFIER_PATTERN.test(m.name as string)) throw invalid('"name" must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit')
  if (semver.valid(m.version as string) === null) throw invalid(`"version" ${JSON.stringify(m.version)} is not semver (e.g. 1.4.2)`)
  if (!(BUNDLE_KINDS as readonly string[]).includes(m.kind as string)) throw invalid(`"kind" must be one of ${BUNDLE_KINDS.join(', ')}`)
  if (m.minFromVersion !== undefined && (typeof m.minFromVersion !== 'string' || semver.valid(m.minFromVersion) === null)) {
    throw invalid('"minFromVersion" must be a semver version when present')
  }
  for (const key of ['expiresAt', 'createdAt'] as const) {
    if (Number.isNaN(Date.parse(m[key] as string))) throw invalid(`"${key}" is not an ISO 8601 date`)
  }
  const target = m.target as Record<string, unknown> | null
  if (target === null || typeof target !== 'object' || Array.isArray(target)) throw invalid('"target" must be an object')
  for (const [key, patterns] of Object.entries(target)) {
    if (!['arch', 'tier', 'hardware'].includes(key)) throw invalid(`"target.${key}" is unknown (arch, tier, hardware)`)
    if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string' && p.length > 0)) {
      throw invalid(`"target.${key}" must be an array of non-empty strings`)
    }
  }
  if (!Array.isArray(m.files) || m.files.length > MAX_FILES) throw invalid(`"files" must be an array of at most ${MAX_FILES} entries`)
  const seen = new Set<string>()
  let total = 0
  for (const [i, entry] of (m.files as unknown[]).entries()) {
    const f = entry as Record<string, unknown> | null
    if (f === null || typeof f !== 'object' || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || !Number.isSafeInteger(f.size) || (f.size as number) < 0) {
      throw invalid(`files[${i}] must be {path: string, size: integer >= 0, sha256: hex}`)
    }
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw invalid(`files[${i}].sha256 is not 64 lower-case hex digits`)
    if (!isSafeBundlePath(f.path)) throw new CloudosError('OTA_ERR_PATH_UNSAFE', `files[${i}].path ${JSON.stringify(f.path)} is not a safe relative path`)
    if (seen.has(f.path)) throw new CloudosError('OTA_ERR_FILE_UNLISTED', `files[${i}].path ${JSON.stringify(f.path)} is listed twice`)
    seen.add(f.path)
    total += f.size as number
  }
  if (m.payloadBytes !== total) throw invalid(`"payloadBytes" ${JSON.stringify(m.payloadBytes)} is not the sum of the file sizes (${total})`)
  return value as BundleManifest
}

/** What the device is, for the target check. */
export interface DeviceTarget {
  arch?: string
  tier?: string
  hardware?: string
}

function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  return regex.test(value)
}

/** OTA_ERR_TARGET_MISMATCH unless every pattern list the manifest sets has a pattern matching the device. */
export function checkTarget(manifest: BundleManifest, device: DeviceTarget): void {
  for (const key of ['arch', 'tier', 'hardware'] as const) {
    const patterns = manifest.target[key]
    if (patterns === undefined || patterns.length === 0) continue
    const value = device[key]
    if (value === undefined ? !patterns.includes('*') : !patterns.some((p) => globMatches(p, value))) {
      throw new CloudosError('OTA_ERR_TARGET_MISMATCH', `bundle ${manifest.name} ${manifest.version} targets ${key} ${patterns.join('|')}, this device is ${key} ${value ?? '(unknown)'}`, {
        key,
        patterns,
        device: value ?? null,
      })
    }
  }
}

/** OTA_ERR_EXPIRED when the manifest's expiry is at or before `now`. */
export function checkExpiry(manifest: BundleManifest, now: number): void {
  if (Date.parse(manifest.expiresAt) <= now) {
    throw new CloudosError('OTA_ERR_EXPIRED', `bundle ${manifest.name} ${manifest.version} expired at ${manifest.expiresAt}`, { expiresAt: manifest.expiresAt })
  }
}

/** OTA_ERR_DOWNGRADE for a lower version (unless allowed), OTA_ERR_VERSION_TOO_OLD below minFromVersion. */
export function checkVersion(manifest: BundleManifest, installedVersion: string, allowDowngrade: boolean): void {
  if (!allowDowngrade && semver.lt(manifest.version, installedVersion)) {
    throw new CloudosError('OTA_ERR_DOWNGRADE', `bundle version ${manifest.version} is lower than the installed ${installedVersion}`, {
      version: manifest.version,
      installedVersion,
    })
  }
  if (manifest.minFromVersion !== undefined && semver.lt(installedVersion, manifest.minFromVersion)) {
    throw new CloudosError('OTA_ERR_VERSION_TOO_OLD', `bundle ${manifest.version} updates from ${manifest.minFromVersion} or later; installed is ${installedVersion}`)
  }
}
