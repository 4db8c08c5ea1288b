import type { RolloutMember, WaveRecord } from './rollout-repository.js'

/**
 * Where a rollout member stands against its wave's success criterion:
 * - `waiting`: its wave has not started;
 * - `in-progress`: pending or installing (downloading ... trial);
 * - `proving`: committed, inside the healthy window;
 * - `healthy`: committed, the window has passed and heartbeats came after the commit (success);
 * - `failed`: reported failed or rolled-back;
 * - `unhealthy`: committed, then silent (offline, or no heartbeat after the commit by the end of the window plus the grace);
 * - `timed-out`: not finished when the wave timed out.
 */
export type MemberOutcome = 'waiting' | 'in-progress' | 'proving' | 'healthy' | 'failed' | 'unhealthy' | 'timed-out'

export const FAILURE_OUTCOMES: readonly MemberOutcome[] = ['failed', 'unhealthy', 'timed-out']

export interface EvaluationTimes {
  now: number
  /**
   * How long after the healthy window a committed device may take to send its
   * first heartbeat (the fleet's offline window: interval x missed beats).
   */
  heartbeatGraceMs: number
}

export function memberOutcome(member: RolloutMember, wave: WaveRecord, times: EvaluationTimes): MemberOutcome {
  if (wave.startedAt === null) return 'waiting'
  if (member.state === 'failed' || member.state === 'rolled-back') return 'failed'
  if (member.state === 'committed') {
    const committedAt = member.committedAt ?? member.updatedAt
    const healthyAfterMs = wave.healthyAfterSeconds * 1000
    // 0 s: committing is the whole criterion (no heartbeat needed).
    if (healthyAfterMs === 0) return 'healthy'
    const beatSinceCommit = member.lastHeartbeatAt !== null && member.lastHeartbeatAt > committedAt
    if (beatSinceCommit && member.liveness === 'offline') return 'unhealthy'
    if (times.now < committedAt + healthyAfterMs) return 'proving'
    if (beatSinceCommit && member.liveness === 'online') return 'healthy'
    return times.now >= committedAt + healthyAfterMs + times.heartbeatGraceMs ? 'unhealthy' : 'proving'
  }
  return times.now >= wave.startedAt + wave.timeoutSeconds * 1000 ? 'timed-out' : 'in-progress'
}

export interface WaveEvaluation {
  size: number
  outcomes: Record<MemberOutcome, number>
  failures: number
  failureRate: number
  /** `halt`: the failure rate is over the wave's limit; `pass`: every device is healthy or failed, within the limit; `wait`: neither yet. */
  decision: 'wait' | 'pass' | 'halt'
}

export const emptyOutcomes = (): Record<MemberOutcome, number> => ({ waiting: 0, 'in-progress': 0, proving: 0, healthy: 0, failed: 0, unhealthy: 0, 'timed-out': 0 })

/**
 * The halt rule: as soon as failures / wave size exceeds the wave's
 * maxFailureRate the rollout halts, without waiting for the other devices
 * (one failed canary out of one is 100%). The wave passes when every device
 * is decided (healthy or a failure) and the rate stayed within the limit.
 */
export function evaluateWave(members: readonly RolloutMember[], wave: WaveRecord, times: EvaluationTimes): WaveEvaluation {
  const outcomes = emptyOutcomes()
  for (const member of members) outcomes[memberOutcome(member, wave, times)]++
  const size = members.length
  const failures = FAILURE_OUTCOMES.reduce((sum, outcome) => sum + outcomes[outcome], 0)
  const failureRate = size === 0 ? 0 : failures / size
  const decided = outcomes.healthy + failures
  const decision = failureRate > wave.maxFailureRate ? 'halt' : decided === size ? 'pass' : 'wait'
  return { size, outcomes, failures, failureRate, decision }
}
