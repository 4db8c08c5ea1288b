import { readFileSync } from 'node:fs'

/**
 * Memory of a running process from /proc/<pid>/status (Linux): one reader for
 * every benchmark. Each function answers "unknown" (undefined or null, as its
 * callers expect) where /proc is not available or the process is gone.
 */
function statusKilobytes(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? undefined : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

/**
 * Peak resident set size in bytes: `VmHWM` ("high water mark"), which the
 * kernel keeps over the process's whole life, so one read before stopping it
 * gives the peak of the run.
 */
export function peakRssBytes(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statusKilobytes(pid, 'VmHWM')
}

/** Resident set size now, in bytes (`VmRSS`), or null where it cannot be read. */
export function residentBytes(pid: number): number | null {
  return statusKilobytes(pid, 'VmRSS') ?? null
}

/**
 * Samples a process's RSS every `intervalMs` until stopped; `stop()` gives the
 * peak (null if never readable). For a phase of a longer-lived process, where
 * `peakRssBytes` would answer the peak of its whole life.
 */
export function sampleResidentPeak(pid: number, intervalMs = 25): { stop(): number | null } {
  let peak: number | null = residentBytes(pid)
  const timer = setInterval(() => {
    const now = residentBytes(pid)
    if (now !== null && (peak === null || now > peak)) peak = now
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      const last = residentBytes(pid)
      if (last !== null && (peak === null || last > peak)) peak = last
      return peak
    },
  }
}
