import type { AlertReport, AlertSeverity } from '../../shared/protocol/alerts.js'
import type { ConfigReport } from '../../shared/protocol/config-sync.js'
import type { DeviceFacts } from '../../shared/protocol/enrolment.js'
import type { HeartbeatBody } from '../../shared/protocol/heartbeat.js'
import type { BundleKind, OtaDeviceState } from '../../shared/protocol/ota.js'
import type { BundleManifest } from '../../shared/ota/manifest.js'
/**
 * The hub's storage, behind small Promise interfaces (like automerge-repo's
 * StorageAdapterInterface): routes and services see only these, so a
 * PostgreSQL backend can be added beside `sqlite/` without touching them.
 * Each method is atomic on its own; where several writes must commit together
 * (an audit entry and the signed head) one method does them.
 */

export type UserId = string & { readonly __userId: true }
export type Role = 'admin' | 'viewer'

export interface UserRecord {
  id: UserId
  username: string
  role: Role
  /** `scrypt$N$r$p$salt$hash` (see cloud/auth/password.ts). */
  passwordHash: string
  /** Base32 TOTP secret. */
  totpSecret: string
  /** Last TOTP time step accepted for this account (replay guard), null before the first login. */
  totpLastStep: number | null
  createdAt: number
}

export type NewUser = Omit<UserRecord, 'totpLastStep'>

export interface UserRepository {
  /** Adds an account; rejects with HUB_ERR_CONFLICT when the username is taken. */
  create(user: NewUser): Promise<UserRecord>
  findByUsername(username: string): Promise<UserRecord | undefined>
  findById(id: UserId): Promise<UserRecord | undefined>
  list(): Promise<UserRecord[]>
  count(): Promise<number>
  /**
   * Marks TOTP time step `step` as used, only if it is later than the last one
   * used (atomically): false means the code was replayed.
   */
  claimTotpStep(id: UserId, step: number): Promise<boolean>
}

export interface SessionRecord {
  /** sha256 (hex) of the bearer token: the token itself is never stored. */
  tokenHash: string
  userId: UserId
  createdAt: number
  expiresAt: number
}

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>
  /** The session for this token hash if it has not expired at `now`. */
  findValid(tokenHash: string, now: number): Promise<SessionRecord | undefined>
  deleteExpired(now: number): Promise<number>
}

export interface AuditEntry {
  /** Position in the log, from 1, gapless. */
  seq: number
  ts: number
  /** Who acted: `user:<username>`, `device:<id>`, `hub` or `anonymous`. */
  actor: string
  /** What happened, dotted: `auth.login`, `auth.login_failed`, `user.create`, ... */
  action: string
  /** What it was done to (username, device id), or '' when nothing. */
  target: string
  details: Record<string, unknown>
  /** Hash of the previous entry (64 zeros for the first). */
  prevHash: string
  /** sha256 over the canonical encoding of this entry (see cloud/audit/audit-chain.ts). */
  hash: string
}

export interface SignedAuditHead {
  seq: number
  hash: string
  /** Ed25519 signature (base64) by the hub key over the canonical `{seq, hash}`. */
  signature: string
}

export interface AuditRepository {
  /**
   * Appends one entry and replaces the signed head, in one transaction: `seal`
   * gets the current last entry (or undefined) and returns the new entry and
   * the head signature.
   */
  append(seal: (previous: AuditEntry | undefined) => { entry: AuditEntry; head: SignedAuditHead }): Promise<AuditEntry>
  /** Entries by seq ascending, after `afterSeq`, at most `limit`. */
  list(options: { afterSeq?: number; limit: number; order?: 'asc' | 'desc' }): Promise<AuditEntry[]>
  /** Every entry in storage order (seq ascending): for verification. */
  all(): Promise<AuditEntry[]>
  head(): Promise<SignedAuditHead | undefined>
}

export type DeviceId = string & { readonly __deviceId: true }
export type Tier = 'edge' | 'lite'

export interface EnrolmentTokenRecord {
  id: string
  /** sha256 (hex) of the token: the token itself is shown once and never stored. */
  tokenHash: string
  group: string
  tier: Tier
  createdBy: string
  createdAt: number
  expiresAt: number
  usedAt: number | null
  deviceId: DeviceId | null
}

export interface EnrolmentTokenRepository {
  create(token: EnrolmentTokenRecord): Promise<void>
  findByHash(tokenHash: string): Promise<EnrolmentTokenRecord | undefined>
  list(): Promise<EnrolmentTokenRecord[]>
}

export type { DeviceFacts } from '../../shared/protocol/enrolment.js'

export type DeviceStatus = 'active' | 'revoked'

/** Heartbeat liveness: 'never-seen' until the first heartbeat. */
export type Liveness = 'never-seen' | 'online' | 'offline'

/** What operators filter and count by: revoked wins over liveness. */
export type FleetStatus = Liveness | 'revoked'

export const fleetStatuses = ['online', 'offline', 'revoked', 'never-seen'] as const satisfies readonly FleetStatus[]

/** What a device reports in each heartbeat; `versions` may be missing in entries stored by older hubs. */
export type DeviceHealth = Omit<HeartbeatBody, 'versions'> & { versions?: Record<string, string> }

/** One heartbeat's health, as kept in the history. */
export interface HealthSample {
  at: number
  health: DeviceHealth
}

/** What enrolment stores; the fleet fields start empty. */
export interface NewDevice {
  id: DeviceId
  name: string
  group: string
  tier: Tier
  /** Ed25519 public key, 32 raw bytes as base64. */
  publicKey: string
  facts: DeviceFacts
  status: DeviceStatus
  enrolmentTokenId: string
  enrolledAt: number
  lastSeenAt: number | null
  revokedAt: number | null
  labels?: Record<string, string>
}

export interface DeviceRecord extends NewDevice {
  labels: Record<string, string>
  liveness: Liveness
  lastHeartbeatAt: number | null
  /** The latest heartbeat's health, null before the first. */
  health: HealthSample | null
}

export const fleetStatusOf = (device: Pick<DeviceRecord, 'status' | 'liveness'>): FleetStatus => (device.status === 'revoked' ? 'revoked' : device.liveness)

export interface DeviceListFilter {
  group?: string
  /** 'active' / 'revoked' (enrolment status) or a fleet status. */
  status?: DeviceStatus | FleetStatus
  tier?: Tier
  /** `key` (label present) or `key=value`. */
  label?: { key: string; value?: string }
  limit: number
  offset?: number
}

export interface DeviceRepository {
  /**
   * Marks the token used, adds the device and raises its `device.enrolled`
   * fleet event, in one transaction; resolves 'token_used' (and adds nothing)
   * when the token was used meanwhile.
   */
  enrol(device: NewDevice): Promise<'enrolled' | 'token_used'>
  findById(id: DeviceId): Promise<DeviceRecord | undefined>
  /** Ordered by enrolment time, then id. */
  list(filter: DeviceListFilter): Promise<DeviceRecord[]>
  /** Revokes and raises `device.revoked` (one transaction); false when there is no such device or it was already revoked. */
  revoke(id: DeviceId, at: number): Promise<boolean>
  touch(id: DeviceId, at: number): Promise<void>
  /** Replaces the device's labels; false when there is no such device. */
  setLabels(id: DeviceId, labels: Record<string, string>): Promise<boolean>
}

export type FleetEventKind = 'device.enrolled' | 'device.online' | 'device.offline' | 'device.revoked'

export interface FleetEvent {
  id: number
  at: number
  kind: FleetEventKind
  deviceId: DeviceId
  details: Record<string, unknown>
}

export interface StatusTransition {
  deviceId: DeviceId
  at: number
  from: FleetStatus
  to: FleetStatus
  reason: string
}

export interface HeartbeatInput {
  deviceId: DeviceId
  at: number
  health: DeviceHealth
}

export interface HeartbeatOutcome {
  deviceId: DeviceId
  /** The liveness before this heartbeat: 'offline' or 'never-seen' means it just came online. */
  previous: Liveness
  revoked: boolean
}

export interface GroupSummary {
  group: string
  total: number
  counts: Record<FleetStatus, number>
}

export interface FleetRepository {
  /**
   * Records heartbeats in one transaction (group commit): each updates last
   * seen and latest health, fills the next slot of the device's health ring
   * (`historyLength` slots), and a device that was not online becomes online,
   * with a status transition and a `device.online` event. Revoked devices
   * are left untouched (outcome.revoked).
   */
  recordHeartbeats(heartbeats: readonly HeartbeatInput[], historyLength: number): Promise<HeartbeatOutcome[]>
  /** Marks offline every online device whose last heartbeat is before `cutoff` (with transition and `device.offline` event); returns them. */
  markOffline(cutoff: number, now: number): Promise<StatusTransition[]>
  healthHistory(deviceId: DeviceId, limit: number): Promise<HealthSample[]>
  transitions(deviceId: DeviceId, limit: number): Promise<StatusTransition[]>
  events(filter: { deviceId?: DeviceId; kind?: FleetEventKind; afterId?: number; limit: number }): Promise<FleetEvent[]>
  groups(): Promise<GroupSummary[]>
}

export type { AlertSeverity } from '../../shared/protocol/alerts.js'

/** An alert as the edge sends it. */
export type AlertInput = AlertReport

export interface AlertRecord extends AlertInput {
  id: number
  deviceId: DeviceId
  receivedAt: number
  acknowledgedAt: number | null
  acknowledgedBy: string | null
}

export interface AlertFilter {
  deviceId?: DeviceId
  severity?: AlertSeverity
  acknowledged?: boolean
  from?: number
  to?: number
  limit: number
}

export interface AlertRepository {
  /** Stores the alerts not stored yet (by device and seq), in one transaction. */
  ingest(deviceId: DeviceId, alerts: readonly AlertInput[], receivedAt: number): Promise<{ accepted: number; duplicates: number; lastSeq: number }>
  /** Newest first (raisedAt, then id). */
  list(filter: AlertFilter): Promise<AlertRecord[]>
  findById(id: number): Promise<AlertRecord | undefined>
  /** false when already acknowledged (the first acknowledgement stands). */
  acknowledge(id: number, by: string, at: number): Promise<boolean>
}

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

/** An Ed25519 public key allowed to sign release bundles (added by an admin; keys from config files are not stored). */
export interface ReleaseKeyRecord {
  /** Fingerprint: the first 16 hex digits of the sha256 of the key's DER (SPKI) bytes. */
  id: string
  name: string
  publicKeyPem: string
  addedBy: string
  addedAt: number
}

export interface ReleaseKeyRepository {
  /** Adds a key; rejects with HUB_ERR_CONFLICT when a key with this id is already trusted. */
  add(key: ReleaseKeyRecord): Promise<void>
  list(): Promise<ReleaseKeyRecord[]>
  /** false when there is no such key. */
  remove(id: string): Promise<boolean>
}

export type ReleaseId = string & { readonly __releaseId: true }

/** A verified bundle stored by the hub. */
export interface ReleaseRecord {
  id: ReleaseId
  name: string
  version: string
  kind: BundleKind
  manifest: BundleManifest
  /** File name of the bundle inside `<data-dir>/releases/`. */
  bundleFile: string
  bundleBytes: number
  /** Hex sha256 of the whole bundle file. */
  bundleSha256: string
  /** Id of the release key whose signature verified. */
  signingKeyId: string
  uploadedBy: string
  uploadedAt: number
}

export interface ReleaseRepository {
  /** Adds a release; rejects with RELEASE_ERR_DUPLICATE when one with this name and version exists. */
  create(release: ReleaseRecord): Promise<void>
  findById(id: ReleaseId): Promise<ReleaseRecord | undefined>
  /** Newest upload first. */
  list(options: { limit: number; offset?: number }): Promise<ReleaseRecord[]>
  /**
   * Deletes the release unless a running or paused rollout uses it (checked in
   * the same transaction). Rollouts that are over keep their history: the
   * release row goes, the rollout rows keep its id.
   */
  delete(id: ReleaseId): Promise<'deleted' | 'not_found' | 'in_use'>
}

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

export type ConfigDocKind = 'group' | 'device'

export interface StoredConfigDocument {
  /** `group:<name>` or `device:<deviceId>`. */
  docId: string
  kind: ConfigDocKind
  name: string
  /** Automerge.save() of the document. */
  bytes: Uint8Array
  heads: string[]
  updatedAt: number
}

export interface ConfigRepository {
  findDocument(docId: string): Promise<StoredConfigDocument | undefined>
  saveDocument(doc: StoredConfigDocument): Promise<void>
  /** Automerge.encodeSyncState of this peer for this document, if one was kept. */
  findSyncState(peer: string, docId: string): Promise<Uint8Array | undefined>
  saveSyncState(peer: string, docId: string, state: Uint8Array, at: number): Promise<void>
  saveReport(deviceId: DeviceId, report: ConfigReport, at: number): Promise<void>
  findReport(deviceId: DeviceId): Promise<{ report: ConfigReport; reportedAt: number } | undefined>
}

/** Everything the hub stores. */
export interface HubStore {
  readonly users: UserRepository
  readonly sessions: SessionRepository
  readonly audit: AuditRepository
  readonly enrolmentTokens: EnrolmentTokenRepository
  readonly devices: DeviceRepository
  readonly fleet: FleetRepository
  readonly alerts: AlertRepository
  readonly telemetry: TelemetryRepository
  readonly releaseKeys: ReleaseKeyRepository
  readonly releases: ReleaseRepository
  readonly rollouts: RolloutRepository
  readonly config: ConfigRepository
  /** Resolves when storage answers (for /readyz). */
  ping(): Promise<void>
  close(): Promise<void>
}
