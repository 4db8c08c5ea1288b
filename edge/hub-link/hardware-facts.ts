import { statfsSync } from 'node:fs'
import { arch, cpus, release, totalmem, type as osType } from 'node:os'
import type { DeviceFacts } from '../../shared/protocol/enrolment.js'

/** What the device reports at enrolment; the hub checks its minimums against it. */
export type HardwareFacts = DeviceFacts

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
