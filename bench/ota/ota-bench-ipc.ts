/** Messages between `cloudos bench ota` and its child processes (fork IPC, JSON). */
import type { BenchDevice } from '../hub/hub-bench-ipc.js'

export interface EdgeLoadJob {
  baseUrl: string
  devices: BenchDevice[]
  /** Range request size of a download. */
  rangeBytes: number
  /** Downloads in flight at once in this process. */
  downloadConcurrency: number
  /** hub mode: milliseconds between target polls. */
  pollMs: number
}

/** plain mode: download `path` (no authentication) once per device, check it, report. */
export interface PlainDownload {
  baseUrl: string
  path: string
  bytes: number
  sha256: string
}

export type ToEdgeLoad =
  | { type: 'job'; job: EdgeLoadJob }
  /** hub mode: poll until every device has committed rollout `rolloutId`. */
  | { type: 'rollout'; rolloutId: string }
  | { type: 'plain'; download: PlainDownload }
  | { type: 'exit' }

export interface EdgeLoadOutcome {
  devices: number
  bytes: number
  requests: number
  failed: number
  firstError: string | null
  seconds: number
}

export type FromEdgeLoad = { type: 'ready' } | { type: 'done'; outcome: EdgeLoadOutcome } | { type: 'error'; message: string }

export interface PlainBundleServerJob {
  /** name -> bundle file path */
  bundles: Record<string, string>
}

export type FromPlainBundleServer = { type: 'ready'; url: string } | { type: 'error'; message: string }
