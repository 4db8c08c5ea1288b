import type { HubConfig } from '../hub-config.js'
import type { DeviceFacts } from '../../shared/protocol/enrolment.js'

/** One requirement a device did not meet, in words an operator can act on. */
export interface UnmetRequirement {
  requirement: 'cpuCount' | 'memoryBytes' | 'freeDiskBytes' | 'runtimeVersion'
  required: number | string
  actual: number | string
  message: string
}

const MiB = 1024 * 1024
const mib = (bytes: number) => `${Math.floor(bytes / MiB)} MiB`

/** Compares dotted versions numerically ("v20.6.0" and "20.6" accepted); NaN parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0)
  const [x, y] = [parts(a), parts(b)]
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/** Every minimum (UC-001 A1) the device misses; empty when it may enrol. */
export function unmetRequirements(facts: DeviceFacts, minimums: HubConfig['enrolment']['minimums']): UnmetRequirement[] {
  const unmet: UnmetRequirement[] = []
  if (facts.cpuCount < minimums.cpuCount) {
    unmet.push({ requirement: 'cpuCount', required: minimums.cpuCount, actual: facts.cpuCount, message: `needs at least ${minimums.cpuCount} CPU cores, has ${facts.cpuCount}` })
  }
  if (facts.memoryBytes < minimums.memoryBytes) {
    unmet.push({ requirement: 'memoryBytes', required: minimums.memoryBytes, actual: facts.memoryBytes, message: `needs at least ${mib(minimums.memoryBytes)} of memory, has ${mib(facts.memoryBytes)}` })
  }
  if (facts.freeDiskBytes < minimums.freeDiskBytes) {
    unmet.push({ requirement: 'freeDiskBytes', required: minimums.freeDiskBytes, actual: facts.freeDiskBytes, message: `needs at least ${mib(minimums.freeDiskBytes)} of free disk, has ${mib(facts.freeDiskBytes)}` })
  }
  if (compareVersions(facts.runtimeVersion, minimums.runtimeVersion) < 0) {
    unmet.push({ requirement: 'runtimeVersion', required: minimums.runtimeVersion, actual: facts.runtimeVersion, message: `needs Node.js ${minimums.runtimeVersion} or later, has ${facts.runtimeVersion}` })
  }
  return unmet
}
