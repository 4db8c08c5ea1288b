import { CloudosError } from '../../shared/errors.js'
import type { OtaDeviceState } from '../../shared/protocol/ota.js'

/** The forward path of an update; a device may skip steps (a simple updater reports only the outcome). */
const PATH: readonly OtaDeviceState[] = ['pending', 'downloading', 'verifying', 'installing', 'trial', 'committed']
export const FINAL_DEVICE_STATES: readonly OtaDeviceState[] = ['committed', 'failed', 'rolled-back']

/**
 * What a device report does to its state: `same` (a repeated report:
 * idempotent, nothing changes), `advance`, or a CloudosError for a move
 * backwards or out of a final state. `failed` and `rolled-back` are allowed
 * from any unfinished state (an updater may report only the outcome).
 */
export function checkTransition(from: OtaDeviceState, to: OtaDeviceState): 'same' | 'advance' {
  if (from === to) return 'same'
  const refuse = (why: string) => new CloudosError('ROLLOUT_ERR_INVALID_TRANSITION', `cannot go from ${from} to ${to}: ${why}`, { current: from, requested: to })
  if (FINAL_DEVICE_STATES.includes(from)) throw refuse(`${from} is final`)
  if (to === 'failed' || to === 'rolled-back') return 'advance'
  if (to === 'pending') throw refuse('pending is the starting state')
  if (PATH.indexOf(to) > PATH.indexOf(from)) return 'advance'
  throw refuse('states only move forward')
}
