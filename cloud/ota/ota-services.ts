import type { RolloutEngine } from './rollout-engine.js'
import type { TrustedReleaseKeys } from './trusted-release-keys.js'
import type { UploadedBundleVerifier } from './bundle-verifier.js'

/** The hub's OTA pieces, built once with the app (cloud/app.ts). */
export interface OtaServices {
  /** `<data-dir>/releases`: one `<releaseId>.bundle` file per stored release. */
  readonly releasesDir: string
  /** `<data-dir>/releases/.incoming`: uploads before verification. */
  readonly incomingDir: string
  readonly trustedKeys: TrustedReleaseKeys
  readonly verifier: UploadedBundleVerifier
  readonly engine: RolloutEngine
  /** Heartbeat grace for the success criterion (fleet interval x missed beats). */
  readonly heartbeatGraceMs: number
}
