import { cpus, release, totalmem, type } from 'node:os'

export interface MachineFacts {
  cpus: number
  cpuModel: string
  memoryBytes: number
  os: string
  node: string
  date: string
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
  }
}
