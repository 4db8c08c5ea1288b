import { join } from 'node:path'
import type { FaultPoints } from '../../edge/fault-points.js'
import { packageRoot } from '../../shared/package-root.js'

/**
 * The environment variables a test sets for the fault-point entries below
 * (they are read here, in the test harness, and nowhere in the product):
 * - CLOUDOS_TEST_OUTBOX_CRASH_AFTER_ACK=1: die like kill -9 right after the
 *   hub committed a telemetry batch, before the edge records it;
 * - CLOUDOS_OTA_HOLD_STAGE=<stage> (CLOUDOS_OTA_HOLD_MS, default 60000): on
 *   entering that OTA updater stage, print `{"event":"ota.hold",...}` on
 *   stdout and wait, so the test can cut the power there.
 */
export function faultPointsFromEnv(env: NodeJS.ProcessEnv): FaultPoints {
  const holdStage = env.CLOUDOS_OTA_HOLD_STAGE
  const holdMs = Number(env.CLOUDOS_OTA_HOLD_MS ?? 60_000)
  return {
    ...(env.CLOUDOS_TEST_OUTBOX_CRASH_AFTER_ACK === '1' ? { afterHubAck: () => process.kill(process.pid, 'SIGKILL') } : {}),
    ...(holdStage === undefined || holdStage === ''
      ? {}
      : {
          atOtaStage: async (stage: string, releaseId: string) => {
            if (stage !== holdStage) return
            process.stdout.write(`${JSON.stringify({ event: 'ota.hold', stage, releaseId })}\n`)
            await new Promise((resolve) => setTimeout(resolve, holdMs))
          },
        }),
  }
}

/** `node <this> edge [flags]`: `cloudos edge` with the fault points of the environment (test/harness/edge-with-faults.ts). */
export const EDGE_WITH_FAULTS = join('dist', 'test', 'harness', 'edge-with-faults.js')

/** `node <this> supervise [flags]`: `cloudos supervise` whose edge children run EDGE_WITH_FAULTS from their slot. */
export const SUPERVISE_WITH_FAULTS = join('dist', 'test', 'harness', 'supervise-with-faults.js')

/** The built entry `relative` (one of the above) of this checkout. */
export function harnessEntry(relative: string): string {
  return join(packageRoot(), relative)
}
