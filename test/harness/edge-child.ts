import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { cloudosBin } from '../../shared/package-root.js'
import type { EdgeEndpoints } from '../../edge/runtime.js'
import { readApiToken } from '../../edge/api/auth/api-token.js'


export interface SpawnEdgeOptions {
  dataDir: string
  mqttPort?: number
  httpPort?: number
  config?: string
  broker?: string
  /** Extra `cloudos edge` arguments, e.g. ['--hub', url, '--enroll-token', token]. */
  extraArgs?: string[]
  /** Extra node flags, e.g. ['--max-semi-space-size=2']. */
  nodeArgs?: string[]
  env?: NodeJS.ProcessEnv
  /** How long to wait for the ready line. */
  readyTimeoutMs?: number
  /** Receives each line the edge writes on stderr (its log). */
  onLog?: (line: string) => void
}

export interface EdgeChild {
  child: ChildProcess
  pid: number
  endpoints: EdgeEndpoints
  /** The local API's bearer token, read from <dataDir>/api-token once the edge is ready. */
  apiToken: string
  /** `{authorization: 'Bearer <apiToken>'}`, to spread into fetch headers. */
  authHeaders: { authorization: string }
  /** Sends SIGTERM (graceful) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  /** SIGKILL: no flush, no cleanup (crash tests). */
  kill(): Promise<void>
  exited: Promise<number | null>
}

/**
 * Starts `cloudos edge` as a child process and resolves when it prints its
 * ready line (`{"event":"edge.ready",...}`) with the ports it bound.
 */
export function spawnEdge(options: SpawnEdgeOptions): Promise<EdgeChild> {
  const args = [...(options.nodeArgs ?? []), cloudosBin(), 'edge', '--data-dir', options.dataDir]
  args.push('--mqtt-port', String(options.mqttPort ?? 0), '--http-port', String(options.httpPort ?? 0))
  if (options.config !== undefined) args.push('--config', options.config)
  if (options.broker !== undefined) args.push('--broker', options.broker)
  args.push(...(options.extraArgs ?? []))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stderrLines: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrLines.push(line)
    if (stderrLines.length > 50) stderrLines.shift()
    options.onLog?.(line)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`edge did not become ready in time:\n${stderrLines.join('\n')}`))
    }, options.readyTimeoutMs ?? 20_000)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`edge exited with code ${String(code)} before it was ready:\n${stderrLines.join('\n')}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{"event":"edge.ready"')) return
      clearTimeout(timer)
      const endpoints = JSON.parse(line) as EdgeEndpoints
      const apiToken = readApiToken(options.dataDir)
      resolve({
        child,
        pid: child.pid as number,
        endpoints,
        apiToken,
        authHeaders: { authorization: `Bearer ${apiToken}` },
        exited,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
          await exited
        },
      })
    })
  })
}
