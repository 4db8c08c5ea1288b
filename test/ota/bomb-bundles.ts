import { createHash, type KeyObject } from 'node:crypto'
import binding from 'zstd-napi/binding.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'
import { signManifest } from '../../shared/ota/release-keys.js'
import { fileEntry, manifestFor } from './bundle-fixtures.js'
import { TAR_END, paxRecords, tarEntry, tarHeader } from './raw-tar.js'
import { GiB, MiB, rawBlocks, zeroBlocks, zstdFrame } from './zstd-frames.js'

/**
 * Decompression bombs in every shape the verifier must survive, each 1 GiB
 * of zeros once inflated and a few dozen KiB on disk (test/ota/zstd-frames.ts).
 */

export const BOMB_BYTES = GiB
const HONEST_FILE = Buffer.from('alpha\n')

/** manifest.json and (when a key is given) manifest.sig, as tar entries. */
export function headTar(manifest: BundleManifest, key: KeyObject | null): Buffer {
  const parts = [tarEntry({ name: 'manifest.json' }, Buffer.from(JSON.stringify(manifest)))]
  if (key !== null) parts.push(tarEntry({ name: 'manifest.sig' }, Buffer.from(JSON.stringify(signManifest(manifest, key)))))
  return Buffer.concat(parts)
}

/** The headers of a payload entry (pax record with the bundle id, then ustar) announcing `size` bytes. */
export function payloadHeader(path: string, size: number, bundleId = 'bundle-aaaaaaaa'): Buffer {
  const pax = paxRecords({ 'CLOUDOS.bundleId': bundleId })
  return Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'pax' }, pax), tarHeader({ name: `payload/${path}`, size })])
}

/** A signed, honest bundle's tar: one small payload file, end of archive. */
function honestTar(key: KeyObject): Buffer {
  const manifest = manifestFor([fileEntry('a.txt', HONEST_FILE)])
  return Buffer.concat([headTar(manifest, key), payloadHeader('a.txt', HONEST_FILE.length), HONEST_FILE, Buffer.alloc(512 - HONEST_FILE.length), TAR_END])
}

/** The case: an unsigned bundle whose first payload entry is 1 GiB of zeros, one frame. */
export function unsignedSingleFrame(): Buffer {
  const manifest = manifestFor([fileEntry('a.txt', HONEST_FILE)])
  const head = Buffer.concat([headTar(manifest, null), payloadHeader('a.txt', BOMB_BYTES)])
  return zstdFrame({ blocks: [...rawBlocks(head), ...zeroBlocks(BOMB_BYTES)] })
}

/** A valid signed bundle, then 1 GiB of zeros after the end of the archive, in the same frame. */
export function trailingInSameFrame(key: KeyObject): Buffer {
  return zstdFrame({ blocks: [...rawBlocks(honestTar(key)), ...zeroBlocks(BOMB_BYTES)] })
}

/** A valid signed bundle in one frame, then 1,024 frames of 1 MiB of zeros each. */
export function manyFrames(key: KeyObject): Buffer {
  const zeros = zstdFrame({ blocks: zeroBlocks(MiB) })
  return Buffer.concat([zstdFrame({ blocks: rawBlocks(honestTar(key)) }), ...Array.from({ length: BOMB_BYTES / MiB }, () => zeros)])
}

/** 1 GiB of zeros compressed by zstd itself (zstd-napi's streaming compressor, level 3): one real frame. */
export function compressedZeros(size = BOMB_BYTES): Buffer {
  const context = new binding.CCtx()
  context.setParameter(binding.CParameter.compressionLevel, 3)
  const zeros = Buffer.alloc(MiB)
  const out = Buffer.alloc(binding.cStreamOutSize())
  const parts: Buffer[] = []
  for (let left = size; left > 0; left -= zeros.length) {
    let input = zeros.subarray(0, Math.min(zeros.length, left))
    const directive = left <= zeros.length ? binding.EndDirective.end : binding.EndDirective.continue
    for (;;) {
      const [remaining, produced, consumed] = context.compressStream2(out, input, directive)
      parts.push(Buffer.from(out.subarray(0, produced)))
      input = input.subarray(consumed)
      if (input.length === 0 && (directive === binding.EndDirective.continue || remaining === 0)) break
    }
  }
  return Buffer.concat(parts)
}

/** A frame declaring 1 GiB of content (Frame_Content_Size) around a valid signed bundle and zeros. */
export function declaredContentSize(key: KeyObject): Buffer {
  const tarBytes = honestTar(key)
  return zstdFrame({ contentSize: BOMB_BYTES, blocks: [...rawBlocks(tarBytes), ...zeroBlocks(BOMB_BYTES - tarBytes.length)] })
}

/** A valid signed bundle and zeros in a frame asking for a 128 MiB window (zstd's own default maximum). */
export function hugeWindow(key: KeyObject): Buffer {
  return zstdFrame({ windowLog: 27, blocks: [...rawBlocks(honestTar(key)), ...zeroBlocks(BOMB_BYTES)] })
}

/** sha256 of `size` zero bytes, hashed a MiB at a time. */
export function zerosSha256(size: number): string {
  const hash = createHash('sha256')
  const zeros = Buffer.alloc(MiB)
  for (let left = size; left > 0; left -= MiB) hash.update(left >= MiB ? zeros : zeros.subarray(0, left))
  return hash.digest('hex')
}

/** Not a bomb: a signed bundle whose one payload file really is 1 GiB of zeros (the verifier must hash it all). */
export function honestGibibyte(key: KeyObject, sha256 = zerosSha256(BOMB_BYTES)): Buffer {
  const manifest = manifestFor([{ path: 'zeros.bin', size: BOMB_BYTES, sha256 }])
  const head = Buffer.concat([headTar(manifest, key), payloadHeader('zeros.bin', BOMB_BYTES)])
  return zstdFrame({ blocks: [...rawBlocks(head), ...zeroBlocks(BOMB_BYTES), ...rawBlocks(TAR_END)] })
}
