import { createPublicKey, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle } from '../shared/ota/bundle-writer.js'
import type { BundleManifest } from '../shared/ota/manifest.js'
import { KEY_ROTATION_BUNDLE_NAME, KEY_ROTATION_FILE, KEY_ROTATION_TYPE, signKeyRotation, type KeyRotationStatement, type SignedKeyRotation } from '../shared/ota/key-rotation.js'

export interface KeyRotationBundleOptions {
  /** A release key the devices trust now: signs the statement and the bundle. */
  currentKey: KeyObject
  /** The new set (private keys): their public halves become the trusted set, and each signs the statement (proof they are held). */
  newKeys: readonly KeyObject[]
  /** The rotation version: above every earlier rotation's. */
  version: number
  outputPath: string
  expiresAt: string
  now?: number
}

/**
 * `cloudos firmware rotate-keys`: an OTA bundle of kind `release-keys`
 * (named `release-keys`, bundle version `<version>.0.0`) whose payload is
 * the signed rotation statement (shared/ota/key-rotation.ts).
 */
export async function buildKeyRotationBundle(options: KeyRotationBundleOptions): Promise<{ manifest: BundleManifest; rotation: SignedKeyRotation }> {
  const statement: KeyRotationStatement = {
    type: KEY_ROTATION_TYPE,
    version: options.version,
    keys: options.newKeys.map((k) => createPublicKey(k).export({ type: 'spki', format: 'pem' }).toString()),
    createdAt: new Date(options.now ?? Date.now()).toISOString(),
  }
  const rotation = signKeyRotation(statement, [options.currentKey, ...options.newKeys])
  const dir = mkdtempSync(join(tmpdir(), 'cloudos-rotation-'))
  try {
    writeFileSync(join(dir, KEY_ROTATION_FILE), `${JSON.stringify(rotation, null, 2)}\n`)
    const { manifest } = await buildBundle({
      sourceDir: dir,
      outputPath: options.outputPath,
      name: KEY_ROTATION_BUNDLE_NAME,
      version: `${options.version}.0.0`,
      kind: 'release-keys',
      expiresAt: options.expiresAt,
      privateKey: options.currentKey,
      ...(options.now === undefined ? {} : { now: options.now }),
    })
    return { manifest, rotation }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
