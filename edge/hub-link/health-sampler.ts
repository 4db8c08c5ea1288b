import type { HeartbeatBody } from '../../shared/protocol/heartbeat.js'

/** The health a heartbeat carries (the heartbeat body of shared/protocol/heartbeat.ts). */
export type DeviceHealth = HeartbeatBody

/** Counters and gauges read at each sample. */
export interface HealthSources {
  readingsStored: () => number
  readingsRejected: () => number
  queueDepth: () => number
  dbSizeBytes: () => number
  uptimeSeconds: () => number
  runtimeVersion: string
  /** Injected for tests. */
  now?: () => number
  cpuUsage?: () => NodeJS.CpuUsage
  rss?: () => number
}

interface Snapshot {
  at: number
  stored: number
  rejected: number
  cpu: NodeJS.CpuUsage
}

const round2 = (n: number) => Math.round(n * 100) / 100

/**
 * Turns the ingest counters into rates: each `sample()` reports the rates
 * since the previous one (the first, since construction). Pure arithmetic
 * over injected sources, so it is tested without a runtime.
 */
export class HealthSampler {
  readonly #sources: HealthSources
  readonly #now: () => number
  readonly #cpuUsage: () => NodeJS.CpuUsage
  #last: Snapshot

  constructor(sources: HealthSources) {
    this.#sources = sources
    this.#now = sources.now ?? (() => performance.now())
    this.#cpuUsage = sources.cpuUsage ?? (() => process.cpuUsage())
    this.#last = this.#snapshot()
  }

  #snapshot(): Snapshot {
    return { at: this.#now(), stored: this.#sources.readingsStored(), rejected: this.#sources.readingsRejected(), cpu: this.#cpuUsage() }
  }

  sample(): DeviceHealth {
    const s = this.#sources
    const next = this.#snapshot()
    const elapsedMs = next.at - this.#last.at
    const perSecond = (delta: number) => (elapsedMs > 0 ? round2(Math.max(0, delta) / (elapsedMs / 1000)) : 0)
    const cpuMicros = next.cpu.user - this.#last.cpu.user + (next.cpu.system - this.#last.cpu.system)
    const health: DeviceHealth = {
      uptimeSeconds: Math.max(0, Math.round(s.uptimeSeconds())),
      queueDepth: s.queueDepth(),
      dbSizeBytes: s.dbSizeBytes(),
      readingsPerSecond: perSecond(next.stored - this.#last.stored),
      rejectedPerSecond: perSecond(next.rejected - this.#last.rejected),
      cpuPercent: elapsedMs > 0 ? round2(Math.max(0, cpuMicros) / 1000 / elapsedMs * 100) : 0,
      memoryBytes: (s.rss ?? (() => process.memoryUsage.rss()))(),
      versions: { runtime: s.runtimeVersion },
    }
    this.#last = next
    return health
  }
}
