import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'

/**
 * What makes uploads idempotent by content (issue 13, docs/formats/batch.md
 * "Uploading a batch"): a telemetry batch or an alert is identified by
 * (device, stream epoch, seq) plus the sha256 of its canonical bytes, sent
 * with it. The hub answers a repeat of content it holds as a duplicate (in
 * any epoch), and the same (device, epoch, seq) with other content as 409
 * HUB_ERR_STREAM_CONFLICT: a device whose database went back in time (restored
 * from a backup, copied to another machine) reuses seqs, and must not have new
 * data taken for a repeat. Such a device starts a new epoch, a fresh seq space
 * at the hub.
 */

/** Every device's first stream, and the one uploads without an epoch (older edges) belong to. */
export const INITIAL_STREAM_EPOCH = '0'

export const STREAM_EPOCH_SOURCE = '^[A-Za-z0-9_-]{1,64}$'
export const StreamEpochSchema = Type.String({
  pattern: STREAM_EPOCH_SOURCE,
  maxLength: 64,
  description: `The device's upload stream epoch: ${INITIAL_STREAM_EPOCH} at first, a new random id after the device found its database restored or copied. Absent: ${INITIAL_STREAM_EPOCH}`,
})

export const ContentSha256Schema = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lower-case hex sha256 of the canonical bytes (telemetry: the codec bytes as sent; an alert: its canonical JSON)' })

/** Lower-case hex sha256. */
export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')
