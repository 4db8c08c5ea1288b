import { createHash, createPrivateKey, type KeyObject } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBundle, generateReleaseKey, parseReleasePublicKey, signManifest, writeBundleEntries, type BundleEntrySource } from '../../shared/ota/bundle.js'
import type { BundleFileEntry, BundleManifest } from '../../shared/ota/manifest.js'

export interface ReleaseKeyFixture {
  privateKey: KeyObject
  publicKey: KeyObject
  keyId: string
  privateKeyPem: string
  publicKeyPem: string
}

export function releaseKey(): ReleaseKeyFixture {
  const pair = generateReleaseKey()
  return { ...pair, privateKey: createPrivateKey(pair.privateKeyPem), publicKey: parseReleasePublicKey(pair.publicKeyPem) }
}

export const inOneYear = (): string => new Date(Date.now() + 365 * 24 * 3600_000).toISOString()

/** A payload directory with a few files (one nested). */
export function payloadDir(root: string, files: Record<string, string> = { 'a.txt': 'alpha\n', 'nested/b.bin': 'b'.repeat(5000), 'c.json': '{"c":1}' }): string {
  const dir = join(root, 'payload-src')
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

export function fileEntry(path: string, content: Buffer | string): BundleFileEntry {
  const bytes = Buffer.from(content)
  return { path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
}

export function manifestFor(files: BundleFileEntry[], overrides: Partial<BundleManifest> = {}): BundleManifest {
  return {
    formatVersion: 1,
    bundleId: 'bundle-aaaaaaaa',
    name: 'cloudos-runtime',
    version: '1.2.0',
    kind: 'runtime',
    target: { arch: ['x64', 'arm64'] },
    expiresAt: inOneYear(),
    createdAt: new Date().toISOString(),
    files,
    payloadBytes: files.reduce((s, f) => s + f.size, 0),
    ...overrides,
  }
}

/** Writes a hand-made bundle: the manifest, its signature (if a key), then the given tar entries. */
export async function craftBundle(
  path: string,
  manifest: BundleManifest,
  key: KeyObject | null,
  payload: BundleEntrySource[],
  options: { trailingTarBytes?: Buffer } = {},
): Promise<void> {
  const head: BundleEntrySource[] = []
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  head.push({ name: 'manifest.json', size: manifestBytes.length, body: manifestBytes })
  if (key !== null) {
    const sig = Buffer.from(JSON.stringify(signManifest(manifest, key)))
    head.push({ name: 'manifest.sig', size: sig.length, body: sig })
  }
  await writeBundleEntries(path, [...head, ...payload], options)
}

export function payloadEntry(path: string, content: Buffer | string, bundleId = 'bundle-aaaaaaaa'): BundleEntrySource {
  const body = Buffer.from(content)
  return { name: `payload/${path}`, size: body.length, pax: { 'CLOUDOS.bundleId': bundleId }, body }
}

export { buildBundle }
