import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { readSlotState, type SlotState } from '../../edge/ota/slot-state.js'
import { cloudosBin, packageRoot } from '../../shared/package-root.js'
import { harnessEntry, SUPERVISE_WITH_FAULTS } from '../harness/fault-entries.js'
import { runCli } from '../helpers/processes.js'
import { waitFor } from '../helpers/wait.js'

export interface ReadyLine {
  httpUrl: string
  mqttPort: number
  pid: number
}

/**
 * `cloudos supervise` as a real process in its own process group, so a test
 * can cut the power (SIGKILL to the whole group: supervisor and edge).
 */
export interface SupervisedEdge {
  process: ChildProcess
  lines: string[]
  readies: ReadyLine[]
  exited: Promise<number | null>
  /** The edge that most recently printed its ready line. */
  latestReady(): ReadyLine | undefined
  slots(): SlotState
  powerCut(): Promise<void>
  stop(): Promise<number | null>
}

/**
 * `faults`: the environment of test/harness/fault-entries.ts (e.g.
 * CLOUDOS_OTA_HOLD_STAGE); given, the supervisor runs from the fault-point
 * entry and so do its edge children.
 */
export function startSupervised(options: { dataDir: string; config: string; hubUrl: string; faults?: NodeJS.ProcessEnv; log?: string[] }): SupervisedEdge {
  const entry = options.faults === undefined ? cloudosBin() : harnessEntry(SUPERVISE_WITH_FAULTS)
  const args = [entry, 'supervise', '--data-dir', options.dataDir, '--config', options.config, '--mqtt-port', '0', '--http-port', '0', '--hub', options.hubUrl, '--insecure-http', '--enroll-token', 'test-token-of-the-ota-test-hub']
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...options.faults } })
  const lines: string[] = []
  const readies: ReadyLine[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    if (line.startsWith('{"event":"edge.ready"')) readies.push(JSON.parse(line) as ReadyLine)
  })
  createInterface({ input: child.stderr! }).on('line', (line) => {
    options.log?.push(line)
    if (options.log !== undefined && options.log.length > 400) options.log.shift()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    process: child,
    lines,
    readies,
    exited,
    latestReady: () => readies.at(-1),
    slots: () => readSlotState(options.dataDir),
    async powerCut() {
      try {
        process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // Already gone.
      }
      await exited
      // The edge child is in the same group: wait until its ports are released too.
      const last = readies.at(-1)
      if (last !== undefined) await waitFor(() => !isAlive(last.pid), { what: `edge pid ${last.pid} to die`, timeoutMs: 10_000 })
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return exited
    },
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function healthy(ready: ReadyLine | undefined): Promise<boolean> {
  if (ready === undefined) return false
  try {
    const response = await fetch(`${ready.httpUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
    return response.status === 200
  } catch {
    return false
  }
}

/**
 * A runtime bundle made from this repo's own build (dist/, bin/, package.json
 * with `version`), optionally with an entry point that throws at start, built
 * with the real `cloudos firmware build`.
 */
export async function buildRuntimeBundle(dir: string, options: { version: string; keyPath: string; crashOnStart?: boolean }): Promise<string> {
  const root = packageRoot()
  const payload = join(dir, `runtime-${options.version}`)
  mkdirSync(payload, { recursive: true })
  cpSync(join(root, 'dist'), join(payload, 'dist'), { recursive: true })
  cpSync(join(root, 'bin'), join(payload, 'bin'), { recursive: true })
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(join(payload, 'package.json'), JSON.stringify({ ...pkg, version: options.version }, null, 2))
  if (options.crashOnStart === true) writeFileSync(join(payload, 'dist', 'cli', 'main.js'), "throw new Error('this release crashes on start')\n")
  const out = join(dir, `runtime-${options.version}.cosb`)
  const result = await runCli(
    ['firmware', 'build', '--dir', payload, '--out', out, '--name', 'cloudos-runtime', '--bundle-version', options.version, '--kind', 'runtime', '--arch', process.arch, '--key', options.keyPath],
    { timeoutMs: 60_000 },
  )
  if (result.code !== 0) throw new Error(`firmware build failed: ${result.stderr}`)
  return out
}

export function writeEdgeConfig(path: string, trustedKeyPath: string, ota: Record<string, unknown> = {}): string {
  writeFileSync(
    path,
    JSON.stringify({
      hub: { heartbeatIntervalSeconds: 1, requestTimeoutMs: 3000, backoffInitialMs: 100, backoffMaxMs: 1000 },
      ota: { trustedKeys: [trustedKeyPath], pollIntervalSeconds: 1, trialWindowSeconds: 2, crashLoopCount: 3, crashLoopWindowSeconds: 30, restartDelayMs: 100, ...ota },
    }),
  )
  return path
}
