import { describe, expect, it } from 'vitest'
import { parseByteRange } from '../../cloud/ota/byte-range.js'
import { checkTransition } from '../../cloud/ota/device-transitions.js'
import { evaluateWave, memberOutcome } from '../../cloud/ota/wave-evaluation.js'
import { assignWaves, planWaves } from '../../cloud/ota/wave-plan.js'
import type { DeviceId } from '../../cloud/devices/device-repository.js'
import type { RolloutId, RolloutMember, WaveRecord } from '../../cloud/ota/rollout-repository.js'
import type { OtaDeviceState } from '../../shared/protocol/ota.js'

const defaults = { healthyAfterSeconds: 60, maxFailureRate: 0.2, timeoutSeconds: 600 }
const ids = (n: number) => Array.from({ length: n }, (_, i) => `dev-${String(i).padStart(4, '0')}` as DeviceId)

describe('wave planning', () => {
  it('fills defaults per wave and refuses non-rising or incomplete waves', () => {
    expect(planWaves([{ percent: 5, maxFailureRate: 0 }, { percent: 100 }], defaults)).toEqual([
      { percent: 5, healthyAfterSeconds: 60, maxFailureRate: 0, timeoutSeconds: 600 },
      { percent: 100, healthyAfterSeconds: 60, maxFailureRate: 0.2, timeoutSeconds: 600 },
    ])
    for (const waves of [[], [{ percent: 50 }], [{ percent: 50 }, { percent: 50 }, { percent: 100 }], [{ percent: 60 }, { percent: 20 }, { percent: 100 }]]) {
      expect(() => planWaves(waves, defaults)).toThrow(expect.objectContaining({ code: 'ROLLOUT_ERR_INVALID_WAVES' }))
    }
  })

  it('assigns every device once, cumulative sizes by ceiling, a canary of at least one, stable for the same rollout id', () => {
    const plans = planWaves([{ percent: 5 }, { percent: 25 }, { percent: 100 }], defaults)
    const a = assignWaves('ro-1', ids(100), plans)
    expect(a.waves.map((w) => w.deviceCount)).toEqual([5, 20, 75])
    expect(new Set(a.members.map((m) => m.deviceId)).size).toBe(100)
    expect(assignWaves('ro-1', [...ids(100)].reverse(), plans).members).toEqual(a.members)
    expect(assignWaves('ro-2', ids(100), plans).members.filter((m) => m.wave === 0)).not.toEqual(a.members.filter((m) => m.wave === 0))
    expect(assignWaves('ro-1', ids(3), plans).waves.map((w) => w.deviceCount)).toEqual([1, 0, 2])
  })
})

describe('wave evaluation (success criterion and halt rule)', () => {
  const wave = (over: Partial<WaveRecord> = {}): WaveRecord => ({ index: 0, percent: 100, deviceCount: 0, state: 'running', startedAt: 0, finishedAt: null, healthyAfterSeconds: 60, maxFailureRate: 0.25, timeoutSeconds: 600, ...over })
  const member = (state: OtaDeviceState, over: Partial<RolloutMember> = {}): RolloutMember => ({
    rolloutId: 'ro-1' as RolloutId,
    deviceId: 'dev-1' as DeviceId,
    wave: 0,
    state,
    code: null,
    reason: null,
    runningVersion: null,
    updatedAt: 0,
    reportedAt: null,
    committedAt: state === 'committed' ? 1_000 : null,
    liveness: 'online',
    lastHeartbeatAt: null,
    ...over,
  })
  const times = (now: number) => ({ now, heartbeatGraceMs: 30_000 })

  it('a committed device proves itself with a heartbeat after the commit; silence or going offline is a failure', () => {
    const w = wave()
    expect(memberOutcome(member('committed', { lastHeartbeatAt: 50_000 }), w, times(30_000))).toBe('proving')
    expect(memberOutcome(member('committed', { lastHeartbeatAt: 50_000 }), w, times(61_000))).toBe('healthy')
    expect(memberOutcome(member('committed', { lastHeartbeatAt: 500 }), w, times(61_000))).toBe('proving')
    expect(memberOutcome(member('committed', { lastHeartbeatAt: 500 }), w, times(91_000))).toBe('unhealthy')
    expect(memberOutcome(member('committed', { lastHeartbeatAt: 5_000, liveness: 'offline' }), w, times(10_000))).toBe('unhealthy')
    expect(memberOutcome(member('committed'), wave({ healthyAfterSeconds: 0 }), times(1_000))).toBe('healthy')
    expect(memberOutcome(member('downloading'), w, times(599_999))).toBe('in-progress')
    expect(memberOutcome(member('downloading'), w, times(600_000))).toBe('timed-out')
    expect(memberOutcome(member('pending'), wave({ startedAt: null }), times(10_000_000))).toBe('waiting')
  })

  it('halts as soon as the failure rate exceeds the limit; passes only when every device is decided', () => {
    const w = wave({ healthyAfterSeconds: 0 })
    const ok = member('committed')
    expect(evaluateWave([ok, ok, ok, member('failed')], w, times(0)).decision).toBe('pass')
    expect(evaluateWave([ok, member('rolled-back'), member('failed'), member('pending')], w, times(0))).toMatchObject({ decision: 'halt', failures: 2, failureRate: 0.5 })
    expect(evaluateWave([ok, ok, ok, member('trial')], w, times(0)).decision).toBe('wait')
    expect(evaluateWave([], w, times(0)).decision).toBe('pass')
  })
})

describe('device state transitions', () => {
  it('moves forward (skipping allowed), repeats are idempotent, final states stay final', () => {
    expect(checkTransition('pending', 'downloading')).toBe('advance')
    expect(checkTransition('pending', 'committed')).toBe('advance')
    expect(checkTransition('trial', 'rolled-back')).toBe('advance')
    expect(checkTransition('downloading', 'failed')).toBe('advance')
    expect(checkTransition('committed', 'committed')).toBe('same')
    for (const [from, to] of [['installing', 'downloading'], ['committed', 'failed'], ['failed', 'committed'], ['rolled-back', 'trial'], ['verifying', 'pending']] as const) {
      expect(() => checkTransition(from, to), `${from} -> ${to}`).toThrow(expect.objectContaining({ code: 'ROLLOUT_ERR_INVALID_TRANSITION' }))
    }
  })
})

describe('Range header', () => {
  it('parses one range, clips the end, refuses what cannot be satisfied', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 })
    expect(parseByteRange('bytes=500-', 1000)).toEqual({ start: 500, end: 999 })
    expect(parseByteRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 })
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 })
    expect(parseByteRange('bytes=900-5000', 1000)).toEqual({ start: 900, end: 999 })
    for (const header of ['bytes=1000-', 'bytes=5-4', 'bytes=0-1,3-4', 'bytes=-0', 'bytes=-', 'lines=0-1', 'bytes=x-1']) {
      expect(() => parseByteRange(header, 1000), header).toThrow(expect.objectContaining({ code: 'RELEASE_ERR_RANGE_NOT_SATISFIABLE' }))
    }
  })
})
