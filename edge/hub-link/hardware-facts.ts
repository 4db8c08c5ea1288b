import { statfsSync } from 'node:fs'
import { arch, cpus, release, totalmem, type as osType } from 'node:os'

/** What the device reports at enrolment; the hub checks its minimums against it. */
export interface HardwareFacts {
  cpuCount: number
  memoryBytes: number
  /** Free space, for an unprivileged process, of the file system holding the data dir. */
  freeDiskBytes: number
  arch: string
  os: string
  /** Node.js version, e.g. v20.20.2. */
  runtimeVersion: string
}

export function collectHardwareFacts(dataDir: string): HardwareFacts {
  const disk = statfsSync(dataDir)
  return {
    cpuCount: cpus().length,
    memoryBytes: totalmem(),
    freeDiskBytes: disk.bavail * disk.bsize,
    arch: arch(),
    os: `${osType().toLowerCase()} ${release()}`.slice(0, 128),
    runtimeVersion: process.version,
  }
}
