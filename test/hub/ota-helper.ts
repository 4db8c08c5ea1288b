import { randomBytes, type KeyObject } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { signDeviceRequest } from '../../shared/device-auth/index.js'
import { buildBundle } from '../../shared/ota/bundle.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'
import { generateReleaseKey, type ReleaseKeyPair } from '../../shared/ota/release-keys.js'
import { createPrivateKey } from 'node:crypto'
import { bearer, type TestHub } from './helper.js'
import type { TestDevice } from './device-helper.js'

export interface ReleaseKey extends ReleaseKeyPair {
  privateKey: KeyObject
}

export function newReleaseKey(): ReleaseKey {
  const pair = generateReleaseKey()
  return { ...pair, privateKey: createPrivateKey(pair.privateKeyPem) }
}

export const inOneYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString()

/**
 * Builds a real bundle (shared/ota buildBundle) in `dir` with one payload
 * file of `payloadBytes` random bytes (incompressible: the bundle is about
 * that size), signed by `key` unless `key` is null.
 */
export async function makeBundle(
  dir: string,
  options: { key: ReleaseKey | null; name?: string; version?: string; payloadBytes?: number; target?: BundleManifest['target']; expiresAt?: string },
): Promise<{ path: string; manifest: BundleManifest }> {
  const tag = randomBytes(4).toString('hex')
  const source = join(dir, `src-${tag}`)
  mkdirSync(source, { recursive: true })
  const payloadBytes = options.payloadBytes ?? 64 * 1024
  const chunk = 8 * 1024 * 1024
  // Written in pieces so a large payload is not one buffer in the test process.
  const file = join(source, 'payload.bin')
  writeFileSync(file, Buffer.alloc(0))
  for (let written = 0; written < payloadBytes; written += chunk) {
    writeFileSync(file, randomBytes(Math.min(chunk, payloadBytes - written)), { flag: 'a' })
  }
  const path = join(dir, `bundle-${tag}.cosb`)
  const built = await buildBundle({
    sourceDir: source,
    outputPath: path,
    name: options.name ?? 'cloudos-runtime',
    version: options.version ?? '1.1.0',
    kind: 'runtime',
    target: options.target ?? {},
    expiresAt: options.expiresAt ?? inOneYear(),
    compressionLevel: 1,
    ...(options.key === null ? {} : { privateKey: options.key.privateKey }),
  })
  return { path, manifest: built.manifest }
}

/** Trusts `key` on the hub through the admin API. */
export async function trustKey(hub: TestHub, adminToken: string, key: ReleaseKey, name = 'release team'): Promise<void> {
  const added = await hub.app.inject({ method: 'POST', url: '/v1/release-keys', headers: bearer(adminToken), payload: { name, publicKeyPem: key.publicKeyPem } })
  expect(added.statusCode, added.body).toBe(201)
}

export async function upload(hub: TestHub, token: string, bundle: Buffer) {
  return hub.app.inject({ method: 'POST', url: '/v1/releases', headers: { ...bearer(token), 'content-type': 'application/octet-stream' }, payload: bundle })
}

/** A signed GET by a test device with extra headers (Range, If-Range). */
export async function deviceGet(hub: TestHub, device: TestDevice, path: string, headers: Record<string, string> = {}) {
  const signed = signDeviceRequest(device.privateKey, { deviceId: device.deviceId, method: 'GET', path, body: '', timestamp: hub.clock() })
  return hub.app.inject({ method: 'GET', url: path, headers: { ...signed, ...headers } })
}
