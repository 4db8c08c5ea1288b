import { CloudosError } from '../../shared/errors.js'
import type { OtaDeviceState, OtaReport } from '../../shared/protocol/ota.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { RolloutId, RolloutRepository } from './rollout-repository.js'
import { checkTransition, FINAL_DEVICE_STATES } from './device-transitions.js'
import type { RolloutEngine } from './rollout-engine.js'

export interface ReportOutcome {
  state: OtaDeviceState
  /** false for a repeated report (nothing changed). */
  changed: boolean
}

/**
 * Applies a device's OTA report: checks it names the device's rollout and
 * release and a started wave, checks the transition, stores it (compare and
 * set on the previous state, so two racing reports cannot both apply), audits
 * the outcome of the device's update, and has the engine re-evaluate the wave
 * (a failed canary halts the rollout right away, not on the next tick).
 */
export async function applyDeviceReport(
  deps: { rollouts: RolloutRepository; engine: RolloutEngine; audit: AuditLog; clock: () => number },
  deviceId: DeviceId,
  report: OtaReport,
): Promise<ReportOutcome> {
  const rolloutId = report.rolloutId as RolloutId
  for (let attempt = 0; ; attempt++) {
    const rollout = await deps.rollouts.findById(rolloutId)
    const member = rollout && (await deps.rollouts.member(rolloutId, deviceId))
    if (rollout === undefined || member === undefined) {
      throw new CloudosError('ROLLOUT_ERR_NOT_TARGETED', `rollout ${report.rolloutId} does not include device ${deviceId}`)
    }
    if (rollout.releaseId !== report.releaseId) {
      throw new CloudosError('ROLLOUT_ERR_NOT_TARGETED', `rollout ${rollout.id} installs release ${rollout.releaseId}, not ${report.releaseId}`, { releaseId: rollout.releaseId })
    }
    if (rollout.waves[member.wave]?.startedAt == null) {
      throw new CloudosError('ROLLOUT_ERR_WAVE_NOT_STARTED', `device ${deviceId} is in wave ${member.wave + 1} of rollout ${rollout.id}, which has not started`, { wave: member.wave })
    }
    if (checkTransition(member.state, report.state) === 'same') return { state: member.state, changed: false }
    const now = deps.clock()
    const final = FINAL_DEVICE_STATES.includes(report.state)
    const stored = await deps.rollouts.recordDeviceState(rolloutId, deviceId, member.state, {
      state: report.state,
      code: report.code ?? null,
      reason: report.reason ?? null,
      runningVersion: report.runningVersion,
      reportedAt: report.at,
      updatedAt: now,
      committedAt: report.state === 'committed' ? now : null,
    })
    // Another report changed the state meanwhile: judge this one against the new state.
    if (!stored) {
      if (attempt < 3) continue
      throw new CloudosError('ROLLOUT_ERR_INVALID_TRANSITION', `device ${deviceId}'s state kept changing while this report was applied; send it again`)
    }
    if (final) {
      await deps.audit.record('rollout.device_outcome', `device:${deviceId}`, rollout.id, {
        state: report.state,
        wave: member.wave,
        releaseId: rollout.releaseId,
        runningVersion: report.runningVersion,
        ...(report.code === undefined ? {} : { code: report.code }),
        ...(report.reason === undefined ? {} : { reason: report.reason }),
      })
    }
    await deps.engine.evaluate(rollout.id)
    return { state: report.state, changed: true }
  }
}
