import { createHash, randomBytes, type KeyObject } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, readdir, rename, rm } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { CompressStream } from 'zstd-napi'
import { CloudosError } from '../errors.js'
import { DEFAULT_MAX_WINDOW_BYTES } from '../zstd/bounded-decompressor.js'
import { BUNDLE_ID_PAX_KEY, MANIFEST_ENTRY, PAYLOAD_PREFIX, SIGNATURE_ENTRY } from './bundle-stream.js'
import { parseManifest } from './manifest.js'
import type { BundleFileEntry, BundleManifest } from './manifest.js'
import type { BundleKind } from '../protocol/ota.js'
import { signManifest, type ManifestSignature } from './release-keys.js'

/** One tar entry to write: bytes in memory or a stream opened when its turn comes. */
export interface BundleEntrySource {
  name: string
  size: number
  pax?: Record<string, string>
  body: Buffer | (() => Readable)
}

/**
 * Writes tar entries through zstd to `outputPath`, atomically (temp file,
 * then rename): a reader never sees half a bundle. Entries stream one by one.
 */
export async function writeBundleEntries(
  outputPath: string,
  entries: Iterable<BundleEntrySource> | AsyncIterable<BundleEntrySource>,
  options: { compressionLevel?: number; trailingTarBytes?: Buffer } = {},
): Promise<void> {
  const temp = `${outputPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  const pack = tar.pack()
  const level = options.compressionLevel ?? 9
  // Verifiers refuse windows over 8 MiB (shared/zstd): levels 20-22 would ask for up to 128 MiB.
  const compress = new CompressStream({ compressionLevel: level, ...(level > 19 ? { windowLog: Math.log2(DEFAULT_MAX_WINDOW_BYTES) } : {}) })
  const written = pipeline(pack, compress, createWriteStream(temp, { flush: true }))
  written.catch(() => undefined)
  try {
    for await (const entry of entries) {
      const header = { name: entry.name, size: entry.size, mode: 0o644, mtime: new Date(0), type: 'file' as const, ...(entry.pax ? { pax: entry.pax } : {}) }
      if (Buffer.isBuffer(entry.body)) {
        const body = entry.body
        await new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())))
      } else {
        const sink = pack.entry(header)
        await pipeline(entry.body(), sink)
      }
    }
    if (options.trailingTarBytes !== undefined) {
      // Tests only: bytes after the archive's end (endless-data bundles).
      pack.push(options.trailingTarBytes)
    }
    pack.finalize()
    await written
    await rename(temp, outputPath)
  } catch (err) {
    pack.destroy()
    await written.catch(() => undefined)
    await rm(temp, { force: true })
    throw err
  }
}

/** The tar entries of a bundle: manifest, signature (when signed), payload files tagged with the bundle id. */
export function bundleEntries(
  manifest: BundleManifest,
  signature: ManifestSignature | null,
  payload: (file: BundleFileEntry) => BundleEntrySource['body'],
): BundleEntrySource[] {
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8')
  const entries: BundleEntrySource[] = [{ name: MANIFEST_ENTRY, size: manifestBytes.length, body: manifestBytes }]
  if (signature !== null) {
    const signatureBytes = Buffer.from(`${JSON.stringify(signature, null, 2)}\n`, 'utf8')
    entries.push({ name: SIGNATURE_ENTRY, size: signatureBytes.length, body: signatureBytes })
  }
  for (const file of manifest.files) {
    entries.push({ name: `${PAYLOAD_PREFIX}${file.path}`, size: file.size, pax: { [BUNDLE_ID_PAX_KEY]: manifest.bundleId }, body: payload(file) })
  }
  return entries
}

/** Lists the regular files under `dir` (sorted, POSIX paths); symlinks and special files are refused. */
export async function listPayloadFiles(dir: string): Promise<string[]> {
  const found: string[] = []
  async function walk(current: string): Promise<void> {
    const names = (await readdir(current)).sort()
    for (const name of names) {
      const full = join(current, name)
      const stats = await lstat(full)
      if (stats.isDirectory()) await walk(full)
      else if (stats.isFile()) found.push(relative(dir, full).split(sep).join('/'))
      else throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `${full} is not a regular file or directory (symlinks are not bundled)`)
    }
  }
  try {
    await walk(dir)
  } catch (err) {
    if (err instanceof CloudosError) throw err
    throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `cannot read the payload directory ${dir}: ${(err as Error).message}`)
  }
  return found
}

async function describeFile(dir: string, path: string): Promise<BundleFileEntry> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(join(dir, ...path.split('/')))) {
    size += (chunk as Buffer).length
    hash.update(chunk as Buffer)
  }
  return { path, size, sha256: hash.digest('hex') }
}

export interface BuildBundleOptions {
  /** Directory whose files become the payload (paths relative to it). */
  sourceDir: string
  outputPath: string
  name: string
  version: string
  kind: BundleKind
  target?: BundleManifest['target']
  minFromVersion?: string
  /** ISO 8601 expiry. */
  expiresAt: string
  /** Signs the bundle when given; otherwise `signBundle` can sign it later. */
  privateKey?: KeyObject
  bundleId?: string
  now?: number
  compressionLevel?: number
}

/** Builds a bundle from a directory: hashes every file, writes the manifest, signs it (if a key is given), packs. */
export async function buildBundle(options: BuildBundleOptions): Promise<{ manifest: BundleManifest; signature: ManifestSignature | null }> {
  const paths = await listPayloadFiles(options.sourceDir)
  const files: BundleFileEntry[] = []
  for (const path of paths) files.push(await describeFile(options.sourceDir, path))
  const candidate: BundleManifest = {
    formatVersion: 1,
    bundleId: options.bundleId ?? randomBytes(12).toString('base64url'),
    name: options.name,
    version: options.version,
    kind: options.kind,
    target: options.target ?? {},
    ...(options.minFromVersion === undefined ? {} : { minFromVersion: options.minFromVersion }),
    expiresAt: options.expiresAt,
    createdAt: new Date(options.now ?? Date.now()).toISOString(),
    files,
    payloadBytes: files.reduce((sum, f) => sum + f.size, 0),
  }
  let manifest: BundleManifest
  try {
    manifest = parseManifest(JSON.stringify(candidate))
  } catch (err) {
    throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', (err as Error).message)
  }
  const signature = options.privateKey === undefined ? null : signManifest(manifest, options.privateKey)
  await writeBundleEntries(
    options.outputPath,
    bundleEntries(manifest, signature, (file) => () => createReadStream(join(options.sourceDir, ...file.path.split('/')))),
    options.compressionLevel === undefined ? {} : { compressionLevel: options.compressionLevel },
  )
  return { manifest, signature }
}
