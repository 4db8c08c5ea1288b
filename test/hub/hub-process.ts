import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cloudosBin } from '../../shared/package-root.js'
import { stopChild } from '../helpers/processes.js'

/** `cloudos hub` (the built CLI) as a child process of its own, for memory and restart tests. */
export interface HubProcess {
  child: ChildProcess
  pid: number
  url: string
  stop(): Promise<void>
}

export async function startHubProcess(dataDir: string, config: Record<string, unknown> = {}): Promise<HubProcess> {
  const configPath = join(dataDir, 'test-hub-config.json')
  writeFileSync(configPath, JSON.stringify(config))
  const child = spawn(process.execPath, [cloudosBin(), 'hub', '--data-dir', dataDir, '--port', '0', '--insecure-http', '--config', configPath], {
    env: { ...process.env, CLOUDOS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 20_000) stderr += d
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not report ready within 30 s: ${stderr}`)), 30_000)
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const ready = JSON.parse(line) as { event?: string; url?: string }
        if (ready.event === 'hub.ready' && typeof ready.url === 'string') {
          clearTimeout(timer)
          resolve(ready.url)
        }
      } catch {
        // not the ready line
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`the hub exited (${signal ?? code}) before it was ready: ${stderr}`))
    })
  })
  return { child, pid: child.pid as number, url, stop: () => stopChild(child) }
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS (proc(5), clear_refs value 5). */
export function resetPeakMemory(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}
