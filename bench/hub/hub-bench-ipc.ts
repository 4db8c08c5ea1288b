/** Messages between `cloudos bench hub` and its child processes (fork IPC, JSON). */

export interface BenchDevice {
  deviceId: string
  /** PKCS#8 PEM of the device's Ed25519 key (null: unsigned requests, for the plain baseline). */
  privateKeyPem: string | null
}

export interface LoadJob {
  /** e.g. http://127.0.0.1:43123 */
  baseUrl: string
  /** Path of the heartbeat route; `{deviceId}` is replaced by each device's id. */
  pathTemplate: string
  devices: BenchDevice[]
  requests: number
  /** Requests in flight at once (each on its own kept-alive connection). */
  concurrency: number
  /** The hub CA (PEM) for an https:// baseUrl: the load generator verifies the hub as an edge does. */
  caPem?: string
}

export interface LoadOutcome {
  ok: number
  failed: number
  /** First failure, for the report. */
  firstError: string | null
  seconds: number
  /** Latency of each successful request, milliseconds. */
  latenciesMs: number[]
  signMs: number
}

export type ToLoadGenerator = { type: 'job'; job: LoadJob } | { type: 'go' } | { type: 'exit' }
export type FromLoadGenerator = { type: 'ready'; signMs: number } | { type: 'done'; outcome: LoadOutcome } | { type: 'error'; message: string }

export interface PlainServerJob {
  /** A copy of the hub database: the same devices table. */
  dbPath: string
  synchronous: 'FULL' | 'NORMAL'
}

export type FromPlainServer = { type: 'ready'; url: string } | { type: 'error'; message: string }
