import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { cloudosBin, packageRoot } from '../../shared/package-root.js'
import { PEAK_RSS_MARKER } from '../harness/report-peak-rss.js'
import { run, type ProcessResult } from '../helpers/processes.js'

/** A child's result and its peak RSS in bytes (reported by test/harness/report-peak-rss.ts, preloaded; needs `npm run build`). */
export interface MeasuredRun extends ProcessResult {
  peakRssBytes: number
}

const built = (path: string) => join(packageRoot(), 'dist', path)

/** Runs `node <script> ...args` with the peak-RSS reporter preloaded. */
export async function runMeasured(script: string, args: readonly string[], timeoutMs = 120_000): Promise<MeasuredRun> {
  const preload = pathToFileURL(built('test/harness/report-peak-rss.js')).href
  const result = await run(process.execPath, ['--import', preload, script, ...args], { timeoutMs })
  const match = new RegExp(`${PEAK_RSS_MARKER} (\\d+)`).exec(result.stderr)
  if (match === null) throw new Error(`the child reported no peak RSS (exit ${result.code}, signal ${result.signal}): ${result.stderr.slice(-2000)}`)
  return { ...result, peakRssBytes: Number(match[1]) }
}

/** `cloudos ...args` (the built CLI), measured. */
export function cliMeasured(args: readonly string[]): Promise<MeasuredRun> {
  return runMeasured(cloudosBin(), args)
}

/** test/harness/bundle-verifier-child.ts (built): the hub's upload verifier or the edge's verify-and-extract. */
export function verifierChildMeasured(mode: 'hub' | 'edge', bundle: string, publicKeyPath: string): Promise<MeasuredRun> {
  return runMeasured(built('test/harness/bundle-verifier-child.js'), [mode, bundle, publicKeyPath])
}

export const MiB = 1024 * 1024

/** test/harness/batch-decode-child.ts (built): the hub's decode of an uploaded telemetry batch. */
export function batchChildMeasured(batchPath: string, limits: { maxDecompressedBytes: number; maxReadingsPerBatch: number }): Promise<MeasuredRun> {
  return runMeasured(built('test/harness/batch-decode-child.js'), [batchPath, String(limits.maxDecompressedBytes), String(limits.maxReadingsPerBatch)])
}
