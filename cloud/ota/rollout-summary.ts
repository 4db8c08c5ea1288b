import type { RolloutMember, RolloutRecord, WaveRecord } from './rollout-repository.js'
import { OTA_DEVICE_STATES, type OtaDeviceState } from '../../shared/protocol/ota.js'
import { evaluateWave, type EvaluationTimes, type MemberOutcome } from './wave-evaluation.js'

export interface WaveSummary extends WaveRecord {
  /** Devices per reported state. */
  states: Record<OtaDeviceState, number>
  /** Devices per outcome against the success criterion (cloud/ota/wave-evaluation.ts). */
  outcomes: Record<MemberOutcome, number>
  failureRate: number
}

export interface RolloutSummary {
  devices: number
  states: Record<OtaDeviceState, number>
  waves: WaveSummary[]
}

const emptyStates = () => Object.fromEntries(OTA_DEVICE_STATES.map((s) => [s, 0])) as Record<OtaDeviceState, number>

/** Counts per state, overall and per wave, with each wave's outcomes as the engine sees them now. */
export function summariseRollout(rollout: RolloutRecord, members: readonly RolloutMember[], times: EvaluationTimes): RolloutSummary {
  const states = emptyStates()
  const byWave = rollout.waves.map(() => [] as RolloutMember[])
  for (const member of members) {
    states[member.state]++
    byWave[member.wave]?.push(member)
  }
  const waves = rollout.waves.map((wave, i) => {
    const waveMembers = byWave[i] ?? []
    const waveStates = emptyStates()
    for (const member of waveMembers) waveStates[member.state]++
    const evaluation = evaluateWave(waveMembers, wave, times)
    return { ...wave, states: waveStates, outcomes: evaluation.outcomes, failureRate: evaluation.failureRate }
  })
  return { devices: members.length, states, waves }
}
