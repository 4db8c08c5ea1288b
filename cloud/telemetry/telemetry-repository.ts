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
  seq: number
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
  | { outcome: 'stored'; lastSeq: number }
  /** (device, seq) was already stored: nothing stored again. */
  | { outcome: 'duplicate'; lastSeq: number }
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
  /** Whether (device, seq) is stored (a cheap check before decoding a repeat). */
  has(deviceId: DeviceId, seq: number): Promise<boolean>
  /**
   * Stores the batch and moves the device's last seq, in ONE transaction, if
   * `seq` is new and in order: `lastSeq + 1`, or any later seq when
   * `previousSeq === lastSeq` (a gap the edge declares). Otherwise stores nothing.
   */
  append(batch: TelemetryBatchInput): Promise<TelemetryAppendOutcome>
  /** The stored batches (codec bytes) holding readings of this series between from and to (inclusive), by seq. */
  batchesFor(query: { deviceId: DeviceId; sensorId: string; metric: string; from: number; to: number }): Promise<{ seq: number; bytes: Uint8Array }[]>
  deviceState(deviceId: DeviceId): Promise<TelemetryDeviceState | undefined>
}
