import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sharedBundleVerifier } from '../../cloud/ota/shared-bundle-verifier.js'
import { isCloudosError } from '../../shared/errors.js'
import { verifyBundle } from '../../shared/ota/bundle.js'
import { parseReleasePublicKey } from '../../shared/ota/release-keys.js'

/**
 * Runs one of the product's bundle verifications in its own process, for
 * peak-memory tests (run with report-peak-rss.js preloaded):
 * `node bundle-verifier-child.js <hub|edge> <bundle> <public key PEM file>`.
 * `hub`: the verifier the hub runs on an upload (cloud/ota). `edge`: what the
 * edge updater runs on a download (verify and extract into a staging dir,
 * against the size the hub announced). Prints `{"ok":true}` or `{"code":..}`.
 */
const [mode, bundle, publicKeyPath] = process.argv.slice(2) as [string, string, string]
const trustedKeys = [parseReleasePublicKey(readFileSync(publicKeyPath, 'utf8'))]
const staging = mkdtempSync(join(tmpdir(), 'cloudos-verify-child-'))
try {
  if (mode === 'hub') await sharedBundleVerifier.verify(bundle, { trustedKeys, now: Date.now(), maxBytes: 1024 * 1024 * 1024 })
  else {
    const bytes = readFileSync(bundle).length
    await verifyBundle(bundle, { trustedKeys, device: { arch: 'x64', tier: 'standard' }, installedVersion: '1.0.0', maxBytes: 1024 * 1024 * 1024, expectedBundleBytes: bytes, extractTo: join(staging, 'extract') })
  }
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`)
} catch (err) {
  if (!isCloudosError(err)) throw err
  process.stdout.write(`${JSON.stringify({ code: err.code, message: err.message })}\n`)
} finally {
  rmSync(staging, { recursive: true, force: true })
}
