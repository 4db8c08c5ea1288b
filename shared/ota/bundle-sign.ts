import type { KeyObject } from 'node:crypto'
import type { Readable } from 'node:stream'
import { CloudosError } from '../errors.js'
import { nextEntry, openBundle, readSmallEntry, MANIFEST_ENTRY, SIGNATURE_ENTRY } from './bundle-stream.js'
import { DEFAULT_MAX_BUNDLE_BYTES, declaredTarBytes } from './bundle-verify.js'
import { bundleEntries, writeBundleEntries, type BundleEntrySource } from './bundle-writer.js'
import { MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, parseManifest } from './manifest.js'
import { signManifest, type ManifestSignature } from './release-keys.js'

/**
 * Signs (or re-signs) a bundle: streams it into `outputPath` with a new
 * manifest.sig after the manifest; payload entries are copied as they are.
 * `outputPath` may equal `bundlePath` (written to a temp file, then renamed).
 */
export async function signBundle(bundlePath: string, outputPath: string, privateKey: KeyObject): Promise<ManifestSignature> {
  const opened = openBundle(bundlePath, DEFAULT_MAX_BUNDLE_BYTES, MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 16 * 1024)
  try {
    const first = await nextEntry(opened, bundlePath)
    if (first === undefined || first.header.name !== MANIFEST_ENTRY) {
      throw new CloudosError('OTA_ERR_MANIFEST_INVALID', `${bundlePath}: the first entry must be ${MANIFEST_ENTRY}`)
    }
    const manifest = parseManifest(await readSmallEntry(first, MAX_MANIFEST_BYTES, 'OTA_ERR_MANIFEST_INVALID'))
    opened.tarBytes.tighten(declaredTarBytes(manifest, opened.tarBytes.count) + MAX_SIGNATURE_BYTES)
    const signature = signManifest(manifest, privateKey)
    const [manifestEntry, signatureEntry] = bundleEntries(manifest, signature, () => Buffer.alloc(0))
    async function* entries(): AsyncGenerator<BundleEntrySource> {
      yield manifestEntry as BundleEntrySource
      yield signatureEntry as BundleEntrySource
      for (let entry = await nextEntry(opened, bundlePath); entry !== undefined; entry = await nextEntry(opened, bundlePath)) {
        if (entry.header.name === SIGNATURE_ENTRY) {
          entry.resume()
          continue
        }
        const header = entry.header as typeof entry.header & { pax?: Record<string, string> }
        const current = entry
        yield { name: header.name, size: header.size ?? 0, ...(header.pax ? { pax: header.pax } : {}), body: () => current as unknown as Readable }
      }
    }
    await writeBundleEntries(outputPath, entries())
    return signature
  } finally {
    opened.close()
  }
}
