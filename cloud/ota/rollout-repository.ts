import type { OtaDeviceState } from '../../shared/protocol/ota.js'
import type { DeviceId, Liveness } from '../devices/device-repository.js'
import type { ReleaseId } from './release-repository.js'

export type RolloutId = string & { readonly __rolloutId: true }

export const ROLLOUT_STATES = ['running', 'paused', 'halted', 'aborted', 'completed'] as const
export type RolloutState = (typeof ROLLOUT_STATES)[number]
/** Rollouts that still hand out their release and keep their devices busy. */
export const ACTIVE_ROLLOUT_STATES = ['running', 'paused'] as const satisfies readonly RolloutState[]

export type WaveState = 'waiting' | 'running' | 'passed' | 'failed'

/** What an admin asks of a wave (cumulative percent of the targeted devices) with the defaults filled in. */
export interface WavePlan {
  percent: number
  /** Success criterion: committed, then healthy (heartbeats keep coming) for this long. */
  healthyAfterSeconds: number
  /** Halt rule: the rollout halts once failed devices / wave devices exceeds this. */
  maxFailureRate: number
  /** Devices not finished this long after the wave started count as failed. */
  timeoutSeconds: number
}

export interface WaveRecord extends WavePlan {
  index: number
  /** Devices in this wave (not cumulative). */
  deviceCount: number
  state: WaveState
  startedAt: number | null
  finishedAt: number | null
}

/** Which devices a rollout targets: a group, labels (all must match), or both. */
export interface RolloutTarget {
  group?: string
  labels?: Record<string, string>
}

export interface RolloutRecord {
  id: RolloutId
  releaseId: ReleaseId
  target: RolloutTarget
  allowDowngrade: boolean
  state: RolloutState
  /** Index of the wave running (or the last one that ran). */
  currentWave: number
  waves: WaveRecord[]
  createdBy: string
  createdAt: number
  updatedAt: number
  pausedAt: number | null
  finishedAt: number | null
  /** Why it halted or was aborted. */
  reason: string | null
}

export interface RolloutDeviceRecord {
  rolloutId: RolloutId
  deviceId: DeviceId
  wave: number
  state: OtaDeviceState
  /** Error code the device reported with failed / rolled-back. */
  code: string | null
  reason: string | null
  runningVersion: string | null
  updatedAt: number
  /** Device clock time of its latest report (OtaReport.at). */
  reportedAt: number | null
  /** Hub time the committed report arrived. */
  committedAt: number | null
}

/** A rollout member with the device's liveness, for the success criterion. */
export interface RolloutMember extends RolloutDeviceRecord {
  liveness: Liveness
  lastHeartbeatAt: number | null
}

export interface RolloutDeviceChange {
  state: OtaDeviceState
  code: string | null
  reason: string | null
  runningVersion: string
  reportedAt: number
  updatedAt: number
  committedAt: number | null
}

export type RolloutChange = Partial<Pick<RolloutRecord, 'state' | 'currentWave' | 'waves' | 'pausedAt' | 'finishedAt' | 'reason'>> & { updatedAt: number }

export interface RolloutRepository {
  /**
   * Adds the rollout and its members (state pending) in one transaction,
   * unless one of the devices is in a running or paused rollout: then adds
   * nothing and resolves the ids of those rollouts.
   */
  create(rollout: RolloutRecord, members: readonly { deviceId: DeviceId; wave: number }[]): Promise<{ created: true } | { created: false; busyIn: RolloutId[] }>
  findById(id: RolloutId): Promise<RolloutRecord | undefined>
  /** Newest first. */
  list(filter: { state?: RolloutState; limit: number; offset?: number }): Promise<RolloutRecord[]>
  /** Applies `change` only if the rollout's state is one of `fromStates` (compare and set); false otherwise. */
  update(id: RolloutId, fromStates: readonly RolloutState[], change: RolloutChange): Promise<boolean>
  /** Members ordered by wave, then device id. */
  members(id: RolloutId, filter: { wave?: number; state?: OtaDeviceState; limit: number; offset?: number }): Promise<RolloutMember[]>
  member(id: RolloutId, deviceId: DeviceId): Promise<RolloutDeviceRecord | undefined>
  /** The device's membership in its most recently created rollout, with that rollout. */
  latestForDevice(deviceId: DeviceId): Promise<{ rollout: RolloutRecord; member: RolloutDeviceRecord } | undefined>
  /** Applies a device report only if the member is still in state `from` (compare and set). */
  recordDeviceState(id: RolloutId, deviceId: DeviceId, from: OtaDeviceState, change: RolloutDeviceChange): Promise<boolean>
  /** True when some rollout of this release includes this device in a wave that has started. */
  isOffered(releaseId: ReleaseId, deviceId: DeviceId): Promise<boolean>
  /** Ids of rollouts in these states (oldest first): what the scheduler evaluates. */
  idsInState(states: readonly RolloutState[]): Promise<RolloutId[]>
}
