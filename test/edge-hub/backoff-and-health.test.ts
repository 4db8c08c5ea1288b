import { describe, expect, it } from 'vitest'
import { backoffDelayMs } from '../../edge/hub-link/backoff.js'
import { HealthSampler } from '../../edge/hub-link/health-sampler.js'

describe('backoffDelayMs', () => {
  const options = { initialMs: 1000, maxMs: 60_000 }

  it('doubles per consecutive failure up to the cap, drawn between half and all of it', () => {
    const top = (n: number) => backoffDelayMs(n, { ...options, random: () => 0.999999 })
    const bottom = (n: number) => backoffDelayMs(n, { ...options, random: () => 0 })
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map(top)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000])
    expect([1, 2, 3, 7].map(bottom)).toEqual([500, 1000, 2000, 30_000])
    expect(backoffDelayMs(0, options)).toBe(0)
  })

  it('spreads a fleet: random draws differ and stay in bounds', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelayMs(4, options))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(4000)
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000)
    expect(new Set(delays).size).toBeGreaterThan(50)
  })
})

describe('HealthSampler', () => {
  it('reports readings/s, rejected/s and cpu % from the deltas since the previous sample', () => {
    let now = 0
    let stored = 1000
    let rejected = 10
    let cpu = { user: 5_000_000, system: 1_000_000 }
    const sampler = new HealthSampler({
      readingsStored: () => stored,
      readingsRejected: () => rejected,
      queueDepth: () => 7,
      dbSizeBytes: () => 4096,
      uptimeSeconds: () => 12.4,
      runtimeVersion: '0.1.0',
      now: () => now,
      cpuUsage: () => cpu,
      rss: () => 50_000_000,
    })
    now = 2000
    stored += 500
    rejected += 3
    cpu = { user: 5_300_000, system: 1_100_000 } // 0.4 s of CPU over 2 s
    expect(sampler.sample()).toEqual({
      uptimeSeconds: 12,
      queueDepth: 7,
      dbSizeBytes: 4096,
      readingsPerSecond: 250,
      rejectedPerSecond: 1.5,
      cpuPercent: 20,
      memoryBytes: 50_000_000,
      versions: { runtime: '0.1.0' },
    })
    // The next sample measures from this one, not from the start.
    now = 3000
    stored += 10
    expect(sampler.sample()).toMatchObject({ readingsPerSecond: 10, rejectedPerSecond: 0, cpuPercent: 0 })
    // No time passed: zero rates, not a division by zero.
    expect(sampler.sample()).toMatchObject({ readingsPerSecond: 0, cpuPercent: 0 })
  })

  it('reads the real process when nothing is injected', () => {
    const sampler = new HealthSampler({ readingsStored: () => 0, readingsRejected: () => 0, queueDepth: () => 0, dbSizeBytes: () => 0, uptimeSeconds: () => 1, runtimeVersion: 'x' })
    const started = Date.now()
    while (Date.now() - started < 20); // burn a little CPU
    const health = sampler.sample()
    expect(health.memoryBytes).toBeGreaterThan(1_000_000)
    expect(health.cpuPercent).toBeGreaterThan(0)
  })
})
