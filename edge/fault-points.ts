import type { UpdaterStage } from './ota/updater-state.js'

/**
 * Places where a test may crash or hold the edge on purpose, to prove what
 * happens when power is cut there. The product never sets them: the runtime
 * runs with none (`noFaultPoints`), and only a test entry point
 * (test/harness/edge-with-faults.ts) passes them in through
 * `EdgeRuntimeOptions.faults`. No fault is read from the environment or from
 * a config document.
 */
export interface FaultPoints {
  /** After the hub's 200 for telemetry batch `seq`, before the edge records it as uploaded. */
  readonly afterHubAck?: (seq: number) => void
  /** On entering an OTA updater stage (state written, report queued), before the stage's work. */
  readonly atOtaStage?: (stage: UpdaterStage, releaseId: string) => Promise<void>
}

export const noFaultPoints: FaultPoints = Object.freeze({})
