import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CloudosError } from '../../shared/errors.js'

/** A bundle written to the incoming directory, not verified yet. */
export interface ReceivedBundle {
  tempPath: string
  bytes: number
  sha256: string
}

export const INCOMING_DIR = '.incoming'

/**
 * Where uploads land before verification: `<releases>/.incoming`, on the
 * same file system as the stored bundles so keeping one is a rename. Left-over
 * files (a hub killed mid-upload) are removed when the hub starts.
 */
export function prepareIncomingDir(releasesDir: string): string {
  const incoming = join(releasesDir, INCOMING_DIR)
  mkdirSync(incoming, { recursive: true, mode: 0o700 })
  for (const name of readdirSync(incoming)) rmSync(join(incoming, name), { force: true })
  return incoming
}

/**
 * Streams a request body to a temp file, hashing it on the way, so a bundle
 * of any size costs the hub a few 64 KiB chunks of memory. A declared
 * Content-Length over the limit is refused before reading; a body that
 * grows past it (chunked, or lying) is cut off there. On any failure the
 * temp file is removed: nothing partial stays behind.
 */
export async function receiveBundle(body: Readable, incomingDir: string, options: { maxBytes: number; declaredBytes?: number }): Promise<ReceivedBundle> {
  const { maxBytes, declaredBytes } = options
  const tooLarge = (bytes: number) =>
    new CloudosError('RELEASE_ERR_BUNDLE_TOO_LARGE', `the bundle is ${bytes > maxBytes ? `more than ${maxBytes}` : bytes} bytes; ota.maxBundleBytes allows ${maxBytes}`, { limitBytes: maxBytes })
  if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge(declaredBytes)
  const tempPath = join(incomingDir, `${randomUUID()}.bundle.part`)
  const hash = createHash('sha256')
  let bytes = 0
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length
      if (bytes > maxBytes) {
        callback(tooLarge(bytes))
        return
      }
      hash.update(chunk)
      callback(null, chunk)
    },
  })
  // The request is piped, not put in the pipeline: a refusal must not destroy
  // the request stream (the answer still goes out on its socket, which then closes).
  const cutOff = (err: Error) => meter.destroy(err)
  const closedEarly = () => {
    if (!body.readableEnded) meter.destroy(new Error('the connection closed'))
  }
  body.on('error', cutOff).on('close', closedEarly).pipe(meter)
  try {
    await pipeline(meter, createWriteStream(tempPath, { flags: 'wx', mode: 0o600 }))
  } catch (err) {
    body.unpipe(meter)
    await rm(tempPath, { force: true })
    if (err instanceof CloudosError) throw err
    throw new CloudosError('RELEASE_ERR_UPLOAD_INCOMPLETE', `the upload stopped after ${bytes} bytes: ${(err as Error).message}`, { receivedBytes: bytes })
  }
  body.off('error', cutOff).off('close', closedEarly)
  if (declaredBytes !== undefined && bytes !== declaredBytes) {
    await rm(tempPath, { force: true })
    throw new CloudosError('RELEASE_ERR_UPLOAD_INCOMPLETE', `received ${bytes} bytes, Content-Length said ${declaredBytes}`, { receivedBytes: bytes })
  }
  // On disk before the release row that points at it is committed (a power cut must not leave a row without its bytes).
  const file = await open(tempPath, 'r+')
  try {
    await file.sync()
  } finally {
    await file.close()
  }
  return { tempPath, bytes, sha256: hash.digest('hex') }
}
