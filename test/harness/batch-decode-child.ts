import { readFileSync } from 'node:fs'
import { acceptBatch } from '../../cloud/telemetry/accept-batch.js'
import { isCloudosError } from '../../shared/errors.js'

/**
 * Decodes one telemetry batch file as the hub does on an upload
 * (cloud/telemetry/accept-batch.ts), in its own process, for peak-memory
 * tests (run with report-peak-rss.js preloaded):
 * `node batch-decode-child.js <batch file> <maxDecompressedBytes> <maxReadingsPerBatch>`.
 * Prints `{"readings":n}` or `{"code":..,"reason":..}`.
 */
const [path, maxDecompressedBytes, maxReadingsPerBatch] = process.argv.slice(2) as [string, string, string]
try {
  const accepted = acceptBatch(readFileSync(path), { maxDecompressedBytes: Number(maxDecompressedBytes), maxReadingsPerBatch: Number(maxReadingsPerBatch) })
  process.stdout.write(`${JSON.stringify({ readings: accepted.readings })}\n`)
} catch (err) {
  if (!isCloudosError(err)) throw err
  process.stdout.write(`${JSON.stringify({ code: err.code, reason: err.details?.reason, message: err.message })}\n`)
}
