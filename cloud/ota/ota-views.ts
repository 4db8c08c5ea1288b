import { Type } from '@sinclair/typebox'
import type { MemberOutcome } from './wave-evaluation.js'
import type { RolloutSummary } from './rollout-summary.js'
import type { TrustedReleaseKey } from './trusted-release-keys.js'
import { type ReleaseKeyRecord } from './release-key-repository.js'
import { type ReleaseRecord } from './release-repository.js'
import { ROLLOUT_STATES, type RolloutMember, type RolloutRecord } from './rollout-repository.js'
import { Nullable } from '../http/schemas.js'
import { iso } from '../devices/device-views.js'
import { BundleKindSchema, OTA_DEVICE_STATES, OtaDeviceStateSchema } from '../../shared/protocol/ota.js'

const literals = <T extends string>(values: readonly T[], description?: string) => Type.Union(values.map((v) => Type.Literal(v)), description === undefined ? {} : { description })

export const RolloutStateSchema = literals(ROLLOUT_STATES, 'running, paused (by an admin), halted (the halt rule fired), aborted (by an admin), completed (every wave passed)')

const counts = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])))
const OUTCOMES: readonly MemberOutcome[] = ['waiting', 'in-progress', 'proving', 'healthy', 'failed', 'unhealthy', 'timed-out']

export const ReleaseKeyView = Type.Object({
  id: Type.String({ description: 'Fingerprint: first 16 hex digits of the sha256 of the SPKI DER key' }),
  name: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('admin')], { description: 'config: from ota.trustedKeyFiles / --release-key (removed by editing the config); admin: added with POST /v1/release-keys' }),
  publicKeyPem: Type.String(),
  addedBy: Nullable(Type.String()),
  addedAt: Nullable(Type.String({ format: 'date-time' })),
})

export const releaseKeyView = (key: TrustedReleaseKey, record?: ReleaseKeyRecord) => ({
  id: key.id,
  name: key.name,
  source: key.source,
  publicKeyPem: key.publicKeyPem,
  addedBy: record?.addedBy ?? null,
  addedAt: iso(record?.addedAt ?? null),
})

export const ReleaseView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  kind: BundleKindSchema,
  bundleBytes: Type.Integer(),
  bundleSha256: Type.String(),
  signingKeyId: Type.String(),
  uploadedBy: Type.String(),
  uploadedAt: Type.String({ format: 'date-time' }),
  manifest: Type.Object({}, { additionalProperties: true, description: 'The signed bundle manifest (docs/formats/ota.md)' }),
})

export const releaseView = (r: ReleaseRecord) => ({
  id: r.id,
  name: r.name,
  version: r.version,
  kind: r.kind,
  bundleBytes: r.bundleBytes,
  bundleSha256: r.bundleSha256,
  signingKeyId: r.signingKeyId,
  uploadedBy: r.uploadedBy,
  uploadedAt: new Date(r.uploadedAt).toISOString(),
  manifest: r.manifest,
})

const WaveView = Type.Object({
  index: Type.Integer(),
  percent: Type.Number({ description: 'Cumulative share of the targeted devices reached once this wave runs' }),
  deviceCount: Type.Integer({ description: 'Devices in this wave alone' }),
  healthyAfterSeconds: Type.Integer(),
  maxFailureRate: Type.Number(),
  timeoutSeconds: Type.Integer(),
  state: literals(['waiting', 'running', 'passed', 'failed']),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
  states: counts(OTA_DEVICE_STATES),
  outcomes: counts(OUTCOMES),
  failureRate: Type.Number(),
})

export const RolloutView = Type.Object({
  id: Type.String(),
  releaseId: Type.String(),
  target: Type.Object({ group: Type.Optional(Type.String()), labels: Type.Optional(Type.Record(Type.String(), Type.String())) }),
  allowDowngrade: Type.Boolean(),
  state: RolloutStateSchema,
  currentWave: Type.Integer(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
  reason: Nullable(Type.String()),
  devices: Type.Integer(),
  states: counts(OTA_DEVICE_STATES),
  waves: Type.Array(WaveView),
})

export const rolloutView = (r: RolloutRecord, summary: RolloutSummary) => ({
  id: r.id,
  releaseId: r.releaseId,
  target: r.target,
  allowDowngrade: r.allowDowngrade,
  state: r.state,
  currentWave: r.currentWave,
  createdBy: r.createdBy,
  createdAt: new Date(r.createdAt).toISOString(),
  updatedAt: new Date(r.updatedAt).toISOString(),
  finishedAt: iso(r.finishedAt),
  reason: r.reason,
  devices: summary.devices,
  states: summary.states,
  waves: summary.waves.map((w) => ({ ...w, startedAt: iso(w.startedAt), finishedAt: iso(w.finishedAt) })),
})

export const RolloutDeviceView = Type.Object({
  deviceId: Type.String(),
  wave: Type.Integer(),
  state: OtaDeviceStateSchema,
  outcome: literals(OUTCOMES),
  code: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  runningVersion: Nullable(Type.String()),
  updatedAt: Type.String({ format: 'date-time' }),
  committedAt: Nullable(Type.String({ format: 'date-time' })),
  lastHeartbeatAt: Nullable(Type.String({ format: 'date-time' })),
})

export const rolloutDeviceView = (m: RolloutMember, outcome: MemberOutcome) => ({
  deviceId: m.deviceId,
  wave: m.wave,
  state: m.state,
  outcome,
  code: m.code,
  reason: m.reason,
  runningVersion: m.runningVersion,
  updatedAt: new Date(m.updatedAt).toISOString(),
  committedAt: iso(m.committedAt),
  lastHeartbeatAt: iso(m.lastHeartbeatAt),
})
