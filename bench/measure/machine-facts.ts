import { cpus, loadavg, release, totalmem, type } from 'node:os'

export interface MachineFacts {
  cpus: number
  cpuModel: string
  memoryBytes: number
  os: string
  node: string
  date: string
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine skews the numbers. */
  loadAverage: number[]
}

export function machineFacts(now = new Date()): MachineFacts {
  const list = cpus()
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    date: now.toISOString(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  }
}
