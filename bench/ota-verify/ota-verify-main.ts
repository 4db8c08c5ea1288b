import { createHash, createPublicKey } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import tar from 'tar-stream'
import { decompress } from 'zstd-napi'
import { verifyBundle } from '../../shared/ota/bundle.js'
import { parseManifest } from '../../shared/ota/manifest.js'
import { parseManifestSignature, verifyManifestSignature } from '../../shared/ota/release-keys.js'

/**
 * One measured verification, in its own process so that its peak RSS is its
 * own: `node ota-verify-main.js <stream|in-memory> <bundle> <public key> <extract dir>`.
 * Prints `{"ms":..,"maxRssBytes":..}`.
 */
const [mode, bundle, publicKeyPath, extractTo] = process.argv.slice(2) as [string, string, string, string]
const publicKey = createPublicKey(readFileSync(publicKeyPath, 'utf8'))

/** What a user would write without a streaming verifier: read it all, decompress it all, then check. */
async function inMemory(): Promise<void> {
  const tarBytes = decompress(readFileSync(bundle))
  const extract = tar.extract()
  Readable.from([tarBytes]).pipe(extract)
  const files = new Map<string, Buffer>()
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    files.set(entry.header.name, Buffer.concat(chunks))
  }
  const manifest = parseManifest((files.get('manifest.json') as Buffer).toString('utf8'))
  verifyManifestSignature(manifest, parseManifestSignature((files.get('manifest.sig') as Buffer).toString('utf8')), [publicKey])
  for (const file of manifest.files) {
    const bytes = files.get(`payload/${file.path}`)
    if (bytes === undefined || createHash('sha256').update(bytes).digest('hex') !== file.sha256) throw new Error(`bad ${file.path}`)
    const target = join(extractTo, file.path)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, bytes)
  }
}

const started = performance.now()
if (mode === 'stream') await verifyBundle(bundle, { trustedKeys: [publicKey], extractTo })
else await inMemory()
const ms = performance.now() - started
process.stdout.write(`${JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`)
