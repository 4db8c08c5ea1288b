import { spawn, type ChildProcess } from 'node:child_process'
import { cloudosBin } from '../../shared/package-root.js'

export interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs a program to completion (killed after `timeoutMs`), capturing its output. */
export function run(command: string, args: readonly string[], options: { timeoutMs?: number; input?: string | Buffer } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    // A program that exits without reading its input (mosquitto_pub -m) makes
    // the write fail with EPIPE; its exit code is what the caller checks.
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

/** Runs `node bin/cloudos.js ...args` (the built CLI). */
export function runCli(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ProcessResult> {
  return run(process.execPath, [cloudosBin(), ...args], options)
}

export { canConnect, freePort } from '../../shared/net/tcp-ports.js'

/** Sends `signal` to a child (if still running) and waits for it to exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  await exited
}
