import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isCloudosError } from '../../shared/errors.js'
import { buildBundle, readBundleManifest, signBundle, verifyBundle } from '../../shared/ota/bundle.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { craftBundle, fileEntry, inOneYear, manifestFor, payloadDir, payloadEntry, releaseKey } from './bundle-fixtures.js'

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise
  } catch (err) {
    if (isCloudosError(err)) return { code: err.code, message: err.message }
    throw err
  }
  throw new Error('expected a refusal, the bundle was accepted')
}

const device = { arch: 'x64', tier: 'standard' }

describe('OTA bundle: build, read, verify', () => {
  it('builds a signed bundle that verifies, extracts exactly the payload, and reads its manifest without the payload', async () => {
    const dir = useTempDir()
    const key = releaseKey()
    const src = payloadDir(dir)
    const out = join(dir, 'r.cosb')
    const built = await buildBundle({ sourceDir: src, outputPath: out, name: 'rt', version: '1.3.0', kind: 'runtime', target: { arch: ['x64'] }, expiresAt: inOneYear(), privateKey: key.privateKey })
    expect(built.manifest.files.map((f) => f.path)).toEqual(['a.txt', 'c.json', 'nested/b.bin'])
    const head = await readBundleManifest(out)
    expect(head.manifest).toEqual(built.manifest)
    expect(head.signature?.keyId).toBe(key.keyId)
    const extractTo = join(dir, 'staged')
    const verified = await verifyBundle(out, { trustedKeys: [key.publicKey], device, installedVersion: '1.2.0', extractTo })
    expect(verified.keyId).toBe(key.keyId)
    expect(verified.bundleBytes).toBe(statSync(out).size)
    expect(statSync(join(extractTo, 'nested/b.bin')).size).toBe(5000)
    expect(readdirSync(extractTo).sort()).toEqual(['a.txt', 'c.json', 'nested'])
  })

  it('signs an unsigned bundle afterwards (cloudos firmware sign)', async () => {
    const dir = useTempDir()
    const key = releaseKey()
    const out = join(dir, 'u.cosb')
    await buildBundle({ sourceDir: payloadDir(dir), outputPath: out, name: 'rt', version: '1.3.0', kind: 'runtime', expiresAt: inOneYear() })
    expect((await readBundleManifest(out)).signature).toBeNull()
    await signBundle(out, out, key.privateKey)
    const verified = await verifyBundle(out, { trustedKeys: [key.publicKey] })
    expect(verified.manifest.version).toBe('1.3.0')
  })
})

describe('OTA bundle refusals (one each, with a stable code)', () => {
  const content = { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n' }
  const files = () => [fileEntry('a.txt', content['a.txt']), fileEntry('b.txt', content['b.txt'])]
  const goodPayload = () => [payloadEntry('a.txt', content['a.txt']), payloadEntry('b.txt', content['b.txt'])]

  async function check(
    manifestOverrides: Parameters<typeof manifestFor>[1],
    payload = goodPayload(),
    opts: { sign?: 'trusted' | 'untrusted' | 'none'; tamper?: boolean; trailing?: Buffer; verify?: Partial<Parameters<typeof verifyBundle>[1]>; files?: ReturnType<typeof files> } = {},
  ) {
    const dir = useTempDir()
    const trusted = releaseKey()
    const other = releaseKey()
    const manifest = manifestFor(opts.files ?? files(), manifestOverrides)
    const path = join(dir, 'b.cosb')
    const signer = opts.sign === 'none' ? null : opts.sign === 'untrusted' ? other.privateKey : trusted.privateKey
    if (opts.tamper === true) {
      // Sign the honest manifest, ship an altered one with the old signature.
      const { signManifest } = await import('../../shared/ota/release-keys.js')
      const signature = signManifest(manifest, trusted.privateKey)
      const altered = { ...manifest, version: '9.9.9' }
      const { writeBundleEntries } = await import('../../shared/ota/bundle.js')
      const m = Buffer.from(JSON.stringify(altered))
      const s = Buffer.from(JSON.stringify(signature))
      await writeBundleEntries(path, [{ name: 'manifest.json', size: m.length, body: m }, { name: 'manifest.sig', size: s.length, body: s }, ...payload])
    } else {
      await craftBundle(path, manifest, signer, payload, opts.trailing === undefined ? {} : { trailingTarBytes: opts.trailing })
    }
    const extractTo = join(dir, 'inactive-slot')
    const result = await refusal(verifyBundle(path, { trustedKeys: [trusted.publicKey], device, installedVersion: '1.1.0', extractTo, ...opts.verify }))
    // Nothing of a refused bundle stays behind.
    expect(existsSync(extractTo)).toBe(false)
    return result
  }

  it('accepts the honest bundle these cases start from', async () => {
    const dir = useTempDir()
    const key = releaseKey()
    const path = join(dir, 'ok.cosb')
    await craftBundle(path, manifestFor(files()), key.privateKey, goodPayload())
    await expect(verifyBundle(path, { trustedKeys: [key.publicKey], device, installedVersion: '1.1.0' })).resolves.toMatchObject({ keyId: key.keyId })
  })

  it('bad signature: the manifest was altered after signing', async () => {
    const r = await check({}, goodPayload(), { tamper: true })
    expect(r.code).toBe('OTA_ERR_BAD_SIGNATURE')
  })

  it('unsigned bundle', async () => {
    expect((await check({}, goodPayload(), { sign: 'none' })).code).toBe('OTA_ERR_UNSIGNED')
  })

  it('untrusted key', async () => {
    const r = await check({}, goodPayload(), { sign: 'untrusted' })
    expect(r.code).toBe('OTA_ERR_UNTRUSTED_KEY')
    expect(r.message).toMatch(/not among the 1 trusted keys/)
  })

  it('a file whose hash differs from the manifest', async () => {
    const r = await check({}, [payloadEntry('a.txt', 'ALPHA\n'), payloadEntry('b.txt', content['b.txt'])])
    expect(r).toMatchObject({ code: 'OTA_ERR_FILE_HASH_MISMATCH' })
    expect(r.message).toMatch(/a\.txt/)
  })

  it('a file whose size differs from the manifest', async () => {
    const r = await check({}, [payloadEntry('a.txt', 'alpha, longer\n'), payloadEntry('b.txt', content['b.txt'])])
    expect(r.code).toBe('OTA_ERR_FILE_SIZE_MISMATCH')
  })

  it('a bundle larger than declared (endless data after the archive): reading stops at the bound', async () => {
    // 64 MiB of zeros compress to a few KiB: a decompression bomb behind honest entries.
    const r = await check({}, goodPayload(), { trailing: Buffer.alloc(64 * 1024 * 1024) })
    expect(r.code).toBe('OTA_ERR_BUNDLE_TOO_LARGE')
  })

  it('a bundle file larger than the hub declared (download side)', async () => {
    const r = await check({}, goodPayload(), { verify: { expectedBundleBytes: 100 } })
    expect(r.code).toBe('OTA_ERR_BUNDLE_TOO_LARGE')
  })

  it('a lower version than installed (rollback attack)', async () => {
    const r = await check({ version: '1.0.5' })
    expect(r.code).toBe('OTA_ERR_DOWNGRADE')
  })

  it('a lower version is accepted when an admin explicitly allows the downgrade', async () => {
    const dir = useTempDir()
    const key = releaseKey()
    const path = join(dir, 'down.cosb')
    await craftBundle(path, manifestFor(files(), { version: '1.0.5' }), key.privateKey, goodPayload())
    const verified = await verifyBundle(path, { trustedKeys: [key.publicKey], installedVersion: '1.1.0', allowDowngrade: true })
    expect(verified.manifest.version).toBe('1.0.5')
  })

  it('an installed version below minFromVersion', async () => {
    expect((await check({ minFromVersion: '1.1.5' })).code).toBe('OTA_ERR_VERSION_TOO_OLD')
  })

  it('an expired manifest (freeze attack)', async () => {
    const r = await check({ expiresAt: new Date(Date.now() - 1000).toISOString() })
    expect(r.code).toBe('OTA_ERR_EXPIRED')
  })

  it('a bundle for another target', async () => {
    const r = await check({ target: { arch: ['arm*'] } })
    expect(r.code).toBe('OTA_ERR_TARGET_MISMATCH')
    expect(r.message).toMatch(/arch arm\*, this device is arch x64/)
  })

  it('mixing files from two bundles (an entry tagged with another bundle id)', async () => {
    const r = await check({}, [payloadEntry('a.txt', content['a.txt']), payloadEntry('b.txt', content['b.txt'], 'bundle-bbbbbbbb')])
    expect(r.code).toBe('OTA_ERR_BUNDLE_MIXED')
  })

  it('a payload file the manifest does not list', async () => {
    const r = await check({}, [...goodPayload(), payloadEntry('extra.sh', 'rm -rf /')])
    expect(r.code).toBe('OTA_ERR_FILE_UNLISTED')
  })

  it('a payload file present twice', async () => {
    const r = await check({}, [...goodPayload(), payloadEntry('a.txt', content['a.txt'])])
    expect(r.code).toBe('OTA_ERR_FILE_UNLISTED')
  })

  it('a manifest listing a file twice', async () => {
    const r = await check({}, goodPayload(), { files: [...files(), fileEntry('a.txt', content['a.txt'])] })
    expect(r.code).toBe('OTA_ERR_FILE_UNLISTED')
    expect(r.message).toMatch(/listed twice/)
  })

  it('path traversal in the manifest', async () => {
    const r = await check({}, goodPayload(), { files: [...files(), fileEntry('../../etc/cron.d/x', 'x')] })
    expect(r.code).toBe('OTA_ERR_PATH_UNSAFE')
  })

  it('path traversal in a tar entry', async () => {
    const r = await check({}, [...goodPayload(), payloadEntry('../escape.txt', 'x')])
    expect(r.code).toBe('OTA_ERR_PATH_UNSAFE')
  })

  it('a listed file missing from the bundle', async () => {
    const r = await check({}, [payloadEntry('a.txt', content['a.txt'])])
    expect(r.code).toBe('OTA_ERR_FILE_MISSING')
  })

  it('a file that is not a bundle at all', async () => {
    const dir = useTempDir()
    const path = join(dir, 'junk.cosb')
    writeFileSync(path, 'this is not zstd')
    const r = await refusal(verifyBundle(path, { trustedKeys: [releaseKey().publicKey] }))
    expect(r.code).toBe('OTA_ERR_BUNDLE_UNREADABLE')
  })

  it('a truncated bundle', async () => {
    const dir = useTempDir()
    const key = releaseKey()
    const path = join(dir, 'full.cosb')
    await buildBundle({ sourceDir: payloadDir(dir, { 'big.bin': Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)).toString('latin1') }), outputPath: path, name: 'rt', version: '1.3.0', kind: 'runtime', expiresAt: inOneYear(), privateKey: key.privateKey })
    const { readFileSync } = await import('node:fs')
    const bytes = readFileSync(path)
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)))
    const r = await refusal(verifyBundle(path, { trustedKeys: [key.publicKey] }))
    expect(r.code).toBe('OTA_ERR_BUNDLE_UNREADABLE')
  })
})
