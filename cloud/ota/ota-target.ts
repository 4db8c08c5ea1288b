import type { ReleaseRecord } from './release-repository.js'
import type { RolloutDeviceRecord, RolloutRecord } from './rollout-repository.js'
import { otaBundlePath, type OtaTarget } from '../../shared/protocol/ota.js'
import { FINAL_DEVICE_STATES } from './device-transitions.js'

/**
 * What a device should install now, given its latest rollout:
 * - nothing once its own update is over (committed, failed, rolled back);
 * - nothing while its wave has not started;
 * - the release while the rollout runs;
 * - when the rollout is paused, halted, aborted (or completed while it was
 *   still busy): nothing to a device that has not started, the release to one
 *   already downloading or installing, so it can finish and report rather
 *   than be left half way.
 */
export function otaTargetFor(rollout: RolloutRecord, member: RolloutDeviceRecord, release: ReleaseRecord | undefined): OtaTarget {
  if (release === undefined) return { release: null }
  if (FINAL_DEVICE_STATES.includes(member.state)) return { release: null }
  if (rollout.waves[member.wave]?.startedAt == null) return { release: null }
  if (rollout.state !== 'running' && member.state === 'pending') return { release: null }
  return {
    release: {
      releaseId: release.id,
      rolloutId: rollout.id,
      name: release.name,
      version: release.version,
      kind: release.kind,
      bundleBytes: release.bundleBytes,
      bundleSha256: release.bundleSha256,
      downloadPath: otaBundlePath(release.id),
      allowDowngrade: rollout.allowDowngrade,
    },
  }
}
