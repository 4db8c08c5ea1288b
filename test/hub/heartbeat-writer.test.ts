import { describe, expect, it } from 'vitest'
import { HeartbeatWriter } from '../../cloud/fleet/heartbeat-writer.js'
import type { DeviceId } from '../../cloud/devices/device-repository.js'
import type { FleetRepository, HeartbeatInput } from '../../cloud/fleet/fleet-repository.js'

const health = { uptimeSeconds: 1, queueDepth: 0, dbSizeBytes: 1, readingsPerSecond: 1, rejectedPerSecond: 0, cpuPercent: 1, memoryBytes: 1 }

/** A FleetRepository that records the batches it is given (only recordHeartbeats is used). */
function recordingFleet(fail = false) {
  const batches: HeartbeatInput[][] = []
  const fleet = {
    async recordHeartbeats(heartbeats: readonly HeartbeatInput[]) {
      batches.push([...heartbeats])
      if (fail) throw new Error('disk full')
      return heartbeats.map((h) => ({ deviceId: h.deviceId, previous: 'online' as const, revoked: false }))
    },
  } as unknown as FleetRepository
  return { fleet, batches }
}

describe('HeartbeatWriter (group commit)', () => {
  it('writes heartbeats recorded in one event-loop turn as one batch, and answers each', async () => {
    const { fleet, batches } = recordingFleet()
    const writer = new HeartbeatWriter(fleet, 10)
    const first = await Promise.all(['a', 'b', 'c'].map((id) => writer.record({ deviceId: id as DeviceId, at: 1, health })))
    expect(first.map((o) => o.deviceId)).toEqual(['a', 'b', 'c'])
    await writer.record({ deviceId: 'd' as DeviceId, at: 2, health })
    expect(batches.map((b) => b.map((h) => h.deviceId))).toEqual([['a', 'b', 'c'], ['d']])
    await writer.drain()
  })

  it('fails every heartbeat of a batch whose commit fails', async () => {
    const { fleet } = recordingFleet(true)
    const writer = new HeartbeatWriter(fleet, 10)
    const results = await Promise.allSettled([writer.record({ deviceId: 'a' as DeviceId, at: 1, health }), writer.record({ deviceId: 'b' as DeviceId, at: 1, health })])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })
})
