import { createHash, type KeyObject } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CloudosError } from '../errors.js'
import {
  BUNDLE_ID_PAX_KEY,
  MANIFEST_ENTRY,
  PAYLOAD_PREFIX,
  SIGNATURE_ENTRY,
  bundleReadError,
  nextEntry,
  openBundle,
  readSmallEntry,
  type OpenedBundle,
  type TarEntry,
  type TarHeader,
} from './bundle-stream.js'
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, checkExpiry, checkTarget, checkVersion, isSafeBundlePath, parseManifest, type DeviceTarget } from './manifest.js'
import type { BundleFileEntry, BundleManifest } from './manifest.js'
import { parseManifestSignature, verifyManifestSignature, type ManifestSignature } from './release-keys.js'

/** Default cap on a bundle file (compressed). */
export const DEFAULT_MAX_BUNDLE_BYTES = 2 * 1024 * 1024 * 1024
/** Tar framing allowed per entry beyond its data: header, PAX header and data, padding. */
const TAR_BYTES_PER_ENTRY = 4096
/** Slack over the size the manifest declares (end-of-archive blocks, record padding). */
const TAR_SLACK_BYTES = 64 * 1024

/** Upper bound of the decompressed tar given the manifest: beyond it the bundle holds undeclared data. */
export function declaredTarBytes(manifest: BundleManifest, headBytes: number): number {
  return headBytes + manifest.payloadBytes + manifest.files.length * TAR_BYTES_PER_ENTRY + TAR_SLACK_BYTES
}

async function readHead(opened: OpenedBundle, bundlePath: string): Promise<{ manifest: BundleManifest; signature: ManifestSignature | null; next: TarEntry | undefined }> {
  const first = await nextEntry(opened, bundlePath)
  if (first === undefined || first.header.name !== MANIFEST_ENTRY || first.header.type !== 'file') {
    first?.resume()
    throw new CloudosError('OTA_ERR_MANIFEST_INVALID', `${bundlePath}: the first entry must be ${MANIFEST_ENTRY}, found ${first === undefined ? 'none' : JSON.stringify(first.header.name)}`)
  }
  const manifest = parseManifest(await readSmallEntry(first, MAX_MANIFEST_BYTES, 'OTA_ERR_MANIFEST_INVALID'))
  const second = await nextEntry(opened, bundlePath)
  if (second === undefined || second.header.name !== SIGNATURE_ENTRY) return { manifest, signature: null, next: second }
  const signature = parseManifestSignature(await readSmallEntry(second, MAX_SIGNATURE_BYTES, 'OTA_ERR_UNSIGNED'))
  return { manifest, signature, next: await nextEntry(opened, bundlePath) }
}

/**
 * Reads a bundle's manifest and signature without reading the payload (the
 * first two entries). Bounded: the manifest may not exceed MAX_MANIFEST_BYTES.
 * Nothing is verified: for `firmware inspect`, and to decide before a long
 * verification.
 */
export async function readBundleManifest(bundlePath: string): Promise<{ manifest: BundleManifest; signature: ManifestSignature | null }> {
  const opened = openBundle(bundlePath, DEFAULT_MAX_BUNDLE_BYTES, MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 16 * 1024)
  try {
    const { manifest, signature, next } = await readHead(opened, bundlePath)
    next?.resume()
    return { manifest, signature }
  } finally {
    opened.close()
  }
}

export interface VerifyBundleOptions {
  /** Release public keys the signature must come from. */
  trustedKeys: readonly KeyObject[]
  /** Clock for the expiry check (epoch ms). */
  now?: number
  /** This device; the manifest's target must match. Unset: target not checked (hub upload). */
  device?: DeviceTarget
  /** Installed version; lower bundle versions are refused unless allowDowngrade. Unset: not checked. */
  installedVersion?: string
  allowDowngrade?: boolean
  /** Largest bundle file accepted (compressed bytes). */
  maxBytes?: number
  /** The whole file's expected size and sha256 (e.g. the hub's OtaTarget), checked while reading. */
  expectedBundleBytes?: number
  expectedBundleSha256?: string
  /**
   * Extract the payload into this new directory while verifying. On any
   * refusal the directory is removed: nothing unverified stays behind.
   */
  extractTo?: string
}

export interface VerifiedBundle {
  manifest: BundleManifest
  keyId: string
  /** Bytes and sha256 of the whole bundle file. */
  bundleBytes: number
  bundleSha256: string
  extractedTo?: string
}

/**
 * Verifies a bundle in one streaming pass, refusing with a stable OTA_ERR_*
 * code: signature (unsigned, untrusted key, bad signature), manifest (expiry,
 * target, version), then every payload entry (listed once, safe path, same
 * bundle id, exact size and sha256), nothing missing, nothing beyond the
 * declared size (reading stops at the bound).
 */
export async function verifyBundle(bundlePath: string, options: VerifyBundleOptions): Promise<VerifiedBundle> {
  const maxBytes = Math.min(options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES, options.expectedBundleBytes ?? Number.POSITIVE_INFINITY)
  let fileBytes: number
  try {
    fileBytes = (await stat(bundlePath)).size
  } catch (err) {
    throw bundleReadError(err, bundlePath)
  }
  if (fileBytes > maxBytes) {
    throw new CloudosError('OTA_ERR_BUNDLE_TOO_LARGE', `${bundlePath} is ${fileBytes} bytes, more than the ${maxBytes} allowed`, { bytes: fileBytes, limit: maxBytes })
  }
  if (options.extractTo !== undefined) await mkdir(options.extractTo, { recursive: true })
  const opened = openBundle(bundlePath, maxBytes, MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 16 * 1024)
  try {
    const { manifest, signature, next } = await readHead(opened, bundlePath)
    if (signature === null) {
      next?.resume()
      throw new CloudosError('OTA_ERR_UNSIGNED', `${bundlePath} has no ${SIGNATURE_ENTRY}: unsigned bundles are refused`)
    }
    const keyId = verifyManifestSignature(manifest, signature, options.trustedKeys)
    checkExpiry(manifest, options.now ?? Date.now())
    if (options.device !== undefined) checkTarget(manifest, options.device)
    if (options.installedVersion !== undefined) checkVersion(manifest, options.installedVersion, options.allowDowngrade ?? false)
    opened.tarBytes.tighten(declaredTarBytes(manifest, opened.tarBytes.count))

    await verifyPayload(opened, bundlePath, manifest, next, options.extractTo)
    try {
      await opened.finished
    } catch (err) {
      throw bundleReadError(err, bundlePath)
    }
    const bundleSha256 = opened.compressed.digest()
    if (options.expectedBundleBytes !== undefined && opened.compressed.count !== options.expectedBundleBytes) {
      throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `the bundle is ${opened.compressed.count} bytes, the hub announced ${options.expectedBundleBytes}`)
    }
    if (options.expectedBundleSha256 !== undefined && bundleSha256 !== options.expectedBundleSha256) {
      throw new CloudosError('OTA_ERR_DOWNLOAD_FAILED', `the bundle's sha256 ${bundleSha256} differs from the hub's ${options.expectedBundleSha256}`)
    }
    return {
      manifest,
      keyId,
      bundleBytes: opened.compressed.count,
      bundleSha256,
      ...(options.extractTo === undefined ? {} : { extractedTo: options.extractTo }),
    }
  } catch (err) {
    opened.close()
    if (options.extractTo !== undefined) await rm(options.extractTo, { recursive: true, force: true })
    throw err
  }
}

async function verifyPayload(
  opened: OpenedBundle,
  bundlePath: string,
  manifest: BundleManifest,
  first: TarEntry | undefined,
  extractTo: string | undefined,
): Promise<void> {
  const listed = new Map<string, BundleFileEntry>(manifest.files.map((f) => [f.path, f]))
  const seen = new Set<string>()
  for (let entry = first; entry !== undefined; entry = await nextEntry(opened, bundlePath)) {
    const header = entry.header as TarHeader
    if (header.type === 'directory' && header.name.startsWith(PAYLOAD_PREFIX)) {
      entry.resume()
      continue
    }
    let path: string
    try {
      path = payloadPath(header)
    } catch (err) {
      entry.resume()
      throw err
    }
    const bundleId = header.pax?.[BUNDLE_ID_PAX_KEY]
    if (bundleId !== manifest.bundleId) {
      entry.resume()
      throw new CloudosError('OTA_ERR_BUNDLE_MIXED', `entry ${path} belongs to bundle ${bundleId ?? '(none)'}, the manifest is bundle ${manifest.bundleId}`)
    }
    const expected = listed.get(path)
    if (expected === undefined || seen.has(path)) {
      entry.resume()
      throw new CloudosError('OTA_ERR_FILE_UNLISTED', `entry ${path} is ${expected === undefined ? 'not listed in the manifest' : 'present twice'}`)
    }
    seen.add(path)
    if (header.size !== expected.size) {
      entry.resume()
      throw new CloudosError('OTA_ERR_FILE_SIZE_MISMATCH', `${path} is ${header.size} bytes, the manifest says ${expected.size}`, { path })
    }
    const sha256 = await consumeEntry(entry, extractTo === undefined ? undefined : join(extractTo, ...path.split('/')))
    if (sha256 !== expected.sha256) {
      throw new CloudosError('OTA_ERR_FILE_HASH_MISMATCH', `${path} has sha256 ${sha256}, the manifest says ${expected.sha256}`, { path })
    }
  }
  const missing = manifest.files.filter((f) => !seen.has(f.path))
  if (missing.length > 0) {
    throw new CloudosError('OTA_ERR_FILE_MISSING', `${missing.length} listed files are missing, first ${missing[0]?.path}`, { missing: missing.slice(0, 10).map((f) => f.path) })
  }
}

/**
 * The payload path of an entry, or its refusal: links and special files
 * first (a link would let a later entry write through it, outside the
 * staging directory), then names that escape (`..`, absolute: whatever the
 * prefix), then anything outside payload/.
 */
function payloadPath(header: TarHeader): string {
  if (header.type !== 'file') {
    const target = header.linkname ? ` to ${JSON.stringify(header.linkname)}` : ''
    throw new CloudosError('OTA_ERR_ENTRY_NOT_A_FILE', `entry ${JSON.stringify(header.name)} is a ${header.type ?? 'special entry'}${target}; only regular files are allowed`, {
      type: header.type ?? null,
    })
  }
  if (!isSafeBundlePath(header.name)) throw new CloudosError('OTA_ERR_PATH_UNSAFE', `entry ${JSON.stringify(header.name)} has an unsafe path`)
  if (!header.name.startsWith(PAYLOAD_PREFIX)) throw new CloudosError('OTA_ERR_FILE_UNLISTED', `entry ${JSON.stringify(header.name)} is not under ${PAYLOAD_PREFIX}`)
  const path = header.name.slice(PAYLOAD_PREFIX.length)
  if (!isSafeBundlePath(path)) throw new CloudosError('OTA_ERR_PATH_UNSAFE', `entry ${JSON.stringify(header.name)} has an unsafe path`)
  return path
}

/** Hashes an entry's bytes, writing them to `target` when given (flushed to disk). */
async function consumeEntry(entry: TarEntry, target: string | undefined): Promise<string> {
  const hash = createHash('sha256')
  const hashing = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk)
      callback()
    },
  })
  if (target === undefined) {
    await pipeline(entry, hashing)
  } else {
    await mkdir(dirname(target), { recursive: true })
    const file = createWriteStream(target, { flags: 'wx', flush: true })
    entry.on('data', (chunk) => hash.update(chunk as Buffer))
    await pipeline(entry, file)
  }
  return hash.digest('hex')
}
