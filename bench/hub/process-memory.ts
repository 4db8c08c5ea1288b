import { readFileSync } from 'node:fs'

/** Resident set size of a process in bytes (Linux /proc), or null where it cannot be read. */
export function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? null : Number(match[1]) * 1024
  } catch {
    return null
  }
}

/** Samples a process's RSS every `intervalMs` until stopped; resolves the peak (null if never readable). */
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
