import { createHash } from 'node:crypto'
import { CloudosError } from '../../shared/errors.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { WavePlan, WaveRecord } from './rollout-repository.js'

/** A wave as an admin writes it: the cumulative percent, and optional per-wave overrides. */
export interface WaveRequest {
  percent: number
  healthyAfterSeconds?: number
  maxFailureRate?: number
  timeoutSeconds?: number
}

export type WaveDefaults = Omit<WavePlan, 'percent'>

/**
 * Checks the waves (cumulative percentages rising strictly to 100) and fills
 * each wave's success criterion and halt rule from the defaults.
 */
export function planWaves(requests: readonly WaveRequest[], defaults: WaveDefaults): WavePlan[] {
  if (requests.length === 0) throw new CloudosError('ROLLOUT_ERR_INVALID_WAVES', 'a rollout needs at least one wave')
  let previous = 0
  for (const [i, wave] of requests.entries()) {
    if (!(wave.percent > previous)) {
      throw new CloudosError('ROLLOUT_ERR_INVALID_WAVES', `wave ${i + 1} is ${wave.percent}%, not more than the wave before it (${previous}%): percentages are cumulative`, { wave: i })
    }
    previous = wave.percent
  }
  if (previous !== 100) throw new CloudosError('ROLLOUT_ERR_INVALID_WAVES', `the last wave is ${previous}%: it must be 100 so every targeted device is reached`)
  return requests.map((wave) => ({
    percent: wave.percent,
    healthyAfterSeconds: wave.healthyAfterSeconds ?? defaults.healthyAfterSeconds,
    maxFailureRate: wave.maxFailureRate ?? defaults.maxFailureRate,
    timeoutSeconds: wave.timeoutSeconds ?? defaults.timeoutSeconds,
  }))
}

/**
 * Assigns each device to a wave. Devices are ordered by sha256(rolloutId,
 * deviceId): a stable shuffle, so the canary is not always the oldest devices
 * and a test or an operator can predict it. Wave i holds the devices between
 * ceil(n x previous percent) and ceil(n x percent): a non-empty fleet always
 * has at least one canary.
 */
export function assignWaves(rolloutId: string, deviceIds: readonly DeviceId[], plans: readonly WavePlan[]): { members: { deviceId: DeviceId; wave: number }[]; waves: WaveRecord[] } {
  const ordered = [...deviceIds]
    .map((deviceId) => ({ deviceId, key: createHash('sha256').update(`${rolloutId}\n${deviceId}`).digest('hex') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const members: { deviceId: DeviceId; wave: number }[] = []
  const waves: WaveRecord[] = []
  let from = 0
  for (const [index, plan] of plans.entries()) {
    const to = Math.min(ordered.length, Math.ceil((ordered.length * plan.percent) / 100))
    for (const { deviceId } of ordered.slice(from, to)) members.push({ deviceId, wave: index })
    waves.push({ ...plan, index, deviceCount: to - from, state: 'waiting', startedAt: null, finishedAt: null })
    from = to
  }
  return { members, waves }
}
