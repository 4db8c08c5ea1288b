import type { DeviceId } from '../devices/device-repository.js'
import type { HubContext } from '../http/context.js'

/**
 * A device uploaded under a stream epoch it had not used before while it had
 * used another: its database went back in time (restored from a backup, or
 * copied) and it noticed (shared/protocol/upload-stream.ts). Recorded once
 * per (device, epoch), in the audit log and as a metric, so operators see
 * that a device was restored and that nothing it sent was mistaken for a repeat.
 */
export async function recordNewEpoch(context: HubContext, deviceId: DeviceId, epoch: string, kind: 'telemetry' | 'alerts'): Promise<void> {
  context.metrics.streamEpochs.inc({ kind })
  await context.audit.record('device.stream_epoch', `device:${deviceId}`, deviceId, { epoch, firstSeenIn: kind })
}
