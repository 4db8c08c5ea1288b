import type { DeviceId } from '../devices/device-repository.js'

/** Where one series' readings sit in a stored batch. */
export interface TelemetrySeriesExtent {
  sensorId: string
  metric: string
  tsMin: number
  tsMax: number
  count: number
}

/** A decoded, validated telemetry batch as the hub stores it (the codec bytes plus what indexes them). */
export interface TelemetryBatchInput {
  deviceId: DeviceId
  /** The device's upload stream epoch (shared/protocol/upload-stream.ts); absent: '0'. */
  epoch?: string
  seq: number
  /** sha256 (hex) of `bytes`: held content is a duplicate in any epoch. Absent: known by key only (as before issue 13). */
  contentSha256?: string
  /** The last seq the device says the hub confirmed: batches between it and `seq` were dropped at the edge. */
  previousSeq?: number
  /** Readings the device dropped before upload (its lifetime total). */
  droppedReadings?: number
  /** The codec bytes as received (docs/formats/batch.md). */
  bytes: Uint8Array
  readingCount: number
  tsMin: number
  tsMax: number
  series: readonly TelemetrySeriesExtent[]
  receivedAt: number
}

export type TelemetryAppendOutcome =
  /** `newEpoch`: the device's first batch in an epoch while it had uploaded under another (its database went back in time). */
  | { outcome: 'stored'; lastSeq: number; newEpoch?: true }
  /** The content (or, without a hash, the key) was already stored: nothing stored again. */
  | { outcome: 'duplicate'; lastSeq: number }
  /** (device, epoch, seq) is held with other content: nothing stored. */
  | { outcome: 'conflict'; lastSeq: number; heldSha256: string }
  /** Neither the next seq nor a declared gap after the last one: nothing stored. */
  | { outcome: 'out_of_order'; lastSeq: number; expectedSeq: number }

export interface TelemetryDeviceState {
  deviceId: DeviceId
  lastSeq: number
  batches: number
  readings: number
  droppedReadings: number
  updatedAt: number
}

export interface TelemetryRepository {
  /** Whether (device, epoch, seq) is stored (epoch '0' when omitted). */
  has(deviceId: DeviceId, seq: number, epoch?: string): Promise<boolean>
  /**
   * Stores the batch and moves the device's last seq, in ONE transaction, if
   * its content is not held yet (any epoch), its (epoch, seq) is free, and
   * `seq` is in order within the epoch: `lastSeq + 1`, or any later seq when
   * `previousSeq === lastSeq` (a gap the edge declares, or the first batch of
   * a new epoch). Otherwise stores nothing.
   */
  append(batch: TelemetryBatchInput): Promise<TelemetryAppendOutcome>
  /** The stored batches (codec bytes) holding readings of this series between from and to (inclusive), by seq; `exceptEpoch`: not those of that epoch. */
  batchesFor(query: { deviceId: DeviceId; sensorId: string; metric: string; from: number; to: number; exceptEpoch?: string }): Promise<{ seq: number; bytes: Uint8Array }[]>
  /** The upload stream epochs the device has used, first seen first. */
  epochsOf(deviceId: DeviceId): Promise<string[]>
  deviceState(deviceId: DeviceId): Promise<TelemetryDeviceState | undefined>
}
