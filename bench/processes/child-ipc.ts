import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CloudosError } from '../../shared/errors.js'
import type { ChildReaper } from './child-reaper.js'

/**
 * The IPC channel between a benchmark's orchestrator and the child processes
 * it forks (`child_process.fork`, JSON serialised). Each benchmark defines its
 * own message types next to its entry modules; these are the moves all share.
 */

/**
 * Forks one of a benchmark's own entry modules with an IPC channel, tracked by
 * the reaper. The caller names the module next to itself, compiled under
 * dist/bench/<benchmark>/: `new URL('./publisher-main.js', import.meta.url)`.
 * Node flags of the orchestrator are not inherited: each child runs plain `node`.
 */
export function forkBenchModule(moduleUrl: URL, reaper: ChildReaper): ChildProcess {
  const path = fileURLToPath(moduleUrl)
  if (!existsSync(path)) {
    throw new CloudosError('BENCH_ERR_SETUP', `benchmark module ${path} is missing (run \`npm run build\`)`, { path })
  }
  return reaper.track(fork(path, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' }))
}

/**
 * Resolves with the child's first IPC message that `accept` recognises;
 * rejects if it sends an error message, exits, or stays silent for `timeoutMs`.
 */
export function waitForMessage<M extends { type: string }, R extends M>(
  child: ChildProcess,
  accept: (message: M) => message is R,
  what: string,
  timeoutMs: number,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = (message: M) => {
      if (accept(message)) {
        cleanup()
        resolve(message)
      } else if (message.type === 'error') {
        cleanup()
        reject(new Error(`${what}: ${(message as M & { message?: string }).message ?? 'failed'}`))
      }
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup()
      reject(new Error(`${what}: the process exited (${signal ?? `code ${String(code)}`})`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`))
    }, timeoutMs)
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** Child side: sends to the orchestrator if the channel is still open (the parent may be gone). */
export function sendToParent<M extends { type: string }>(message: M): void {
  if (process.connected) process.send?.(message)
}

/** Orchestrator side: sends a message if the channel is still open. */
export function sendToChild(child: ChildProcess, message: object): void {
  if (child.connected) child.send(message)
}

/** Asks a child to exit through IPC; kills it if it has not after `graceMs`. */
export async function exitChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  sendToChild(child, { type: 'exit' })
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
