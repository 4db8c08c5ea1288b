import { readFileSync } from 'node:fs'

/**
 * Peak resident set size of a running process in bytes: `VmHWM` ("high water
 * mark") from /proc/<pid>/status, which the kernel keeps over the process's
 * whole life, so one read before stopping it gives the peak of the run.
 * Undefined where /proc is not available (not Linux) or the process is gone.
 */
export function peakRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}
