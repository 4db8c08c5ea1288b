import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compress } from 'zstd-napi'
import { isCloudosError } from '../../shared/errors.js'
import { verifyBundle } from '../../shared/ota/bundle.js'
import { useTempDir } from '../helpers/temp-dir.js'
import { headTar, payloadHeader } from './bomb-bundles.js'
import { fileEntry, manifestFor, releaseKey } from './bundle-fixtures.js'
import { TAR_END, paxRecords, tarEntry, tarHeader, tarPadding } from './raw-tar.js'

/**
 * The refusal matrix, continued with entries a honest writer never makes
 * (tar bytes written by hand, test/ota/raw-tar.ts): links, oversized
 * headers, names that escape. Each is refused with its own code, and the
 * staging directory is gone afterwards with nothing written beside it.
 */
const A = Buffer.from('alpha\n')

function payloadFile(path: string, content: Buffer, pax: Record<string, string> = {}): Buffer {
  const header = Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'pax' }, paxRecords({ 'CLOUDOS.bundleId': 'bundle-aaaaaaaa', ...pax })), tarHeader({ name: `payload/${path}`, size: content.length })])
  return Buffer.concat([header, content, tarPadding(content.length)])
}

async function refusalOf(entries: Buffer[], files = [fileEntry('a.txt', A)]): Promise<{ code: string; message: string; root: string }> {
  const root = useTempDir()
  const key = releaseKey()
  const bundle = join(root, 'crafted.cosb')
  writeFileSync(bundle, compress(Buffer.concat([headTar(manifestFor(files), key.privateKey), ...entries, TAR_END])))
  const staging = join(root, 'slots', 'inactive')
  try {
    await verifyBundle(bundle, { trustedKeys: [key.publicKey], extractTo: staging })
  } catch (err) {
    if (!isCloudosError(err)) throw err
    expect(existsSync(staging)).toBe(false)
    // Nothing landed next to the staging directory or above it.
    expect(readdirSync(join(root, 'slots'))).toEqual([])
    expect(readdirSync(root).sort()).toEqual(['crafted.cosb', 'slots'])
    return { code: err.code, message: err.message, root }
  }
  throw new Error('expected a refusal, the bundle was accepted')
}

describe('OTA bundle refusals: links, huge headers, escaping names', () => {
  it('accepts the honest hand-made bundle these cases start from', async () => {
    const root = useTempDir()
    const key = releaseKey()
    const bundle = join(root, 'ok.cosb')
    writeFileSync(bundle, compress(Buffer.concat([headTar(manifestFor([fileEntry('a.txt', A)]), key.privateKey), payloadFile('a.txt', A), TAR_END])))
    await expect(verifyBundle(bundle, { trustedKeys: [key.publicKey], extractTo: join(root, 'x') })).resolves.toMatchObject({ keyId: key.keyId })
  })

  it('a symlink entry (then a file written through it) is refused as not a regular file', async () => {
    const link = Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'pax' }, paxRecords({ 'CLOUDOS.bundleId': 'bundle-aaaaaaaa' })), tarHeader({ name: 'payload/conf', size: 0, type: 'symlink', linkname: '/etc' })])
    const r = await refusalOf([link, payloadFile('conf/cron.d', A)], [fileEntry('conf/cron.d', A)])
    expect(r.code).toBe('OTA_ERR_ENTRY_NOT_A_FILE')
    expect(r.message).toMatch(/symlink to "\/etc"/)
  })

  it('a hard link entry to a file outside the bundle is refused as not a regular file', async () => {
    const r = await refusalOf([payloadFile('a.txt', A), tarHeader({ name: 'payload/b.txt', size: 0, type: 'link', linkname: '../../../../etc/passwd' })])
    expect(r.code).toBe('OTA_ERR_ENTRY_NOT_A_FILE')
    expect(r.message).toMatch(/link to "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd"/)
  })

  it('a pax header of 8 MiB is refused before it is buffered (over the tar reader\'s 4 MiB cap)', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024, 0x61)
    const r = await refusalOf([payloadFile('a.txt', A, { comment: big.toString('latin1'), more: big.toString('latin1') })], [fileEntry('a.txt', A), { path: 'filler.bin', size: 32 * 1024 * 1024, sha256: '0'.repeat(64) }])
    expect(r.code).toBe('OTA_ERR_TAR_HEADER_TOO_LARGE')
  })

  it('a pax path of 2 MiB (a very long name) is refused for its size', async () => {
    const r = await refusalOf([payloadFile('a.txt', A, { path: `payload/${'d/'.repeat(1024 * 1024)}a.txt` })], [fileEntry('a.txt', A), { path: 'filler.bin', size: 8 * 1024 * 1024, sha256: '0'.repeat(64) }])
    expect(r.code).toBe('OTA_ERR_TAR_HEADER_TOO_LARGE')
    expect(r.message).toMatch(/more than the 65536 allowed/)
  })

  it('a GNU long name of 1 MiB is refused for its size', async () => {
    const longName = Buffer.from(`payload/${'x'.repeat(1024 * 1024)}`)
    const entry = Buffer.concat([tarEntry({ name: '././@LongLink', type: 'gnu-long-name' }, longName), payloadFile('a.txt', A)])
    const r = await refusalOf([entry], [fileEntry('a.txt', A), { path: 'filler.bin', size: 4 * 1024 * 1024, sha256: '0'.repeat(64) }])
    expect(r.code).toBe('OTA_ERR_TAR_HEADER_TOO_LARGE')
  })

  for (const name of ['payload/../../escape.txt', '../escape.txt', '/tmp/escape.txt', 'payload/a/../../../escape.txt']) {
    it(`a name escaping the staging directory (${name}) is refused as unsafe, whatever its prefix`, async () => {
      const entry = Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'pax' }, paxRecords({ 'CLOUDOS.bundleId': 'bundle-aaaaaaaa', path: name })), tarHeader({ name: 'payload/a.txt', size: A.length }), A, tarPadding(A.length)])
      const r = await refusalOf([entry])
      expect(r.code).toBe('OTA_ERR_PATH_UNSAFE')
      expect(existsSync(join(r.root, '..', 'escape.txt'))).toBe(false)
    })
  }
})
