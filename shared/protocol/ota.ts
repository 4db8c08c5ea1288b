import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'
import { BundleNameSchema, HubPathSchema, ReleaseIdSchema, RolloutIdSchema, VersionSchema } from './identifiers.js'

/**
 * OTA exchanges between the edge updater and the hub: the target poll, the
 * bundle download (bytes, with Range) and the progress report. The bundle
 * format itself is docs/formats/ota.md and shared/ota/manifest.ts.
 */
export const OTA_TARGET_PATH = '/v1/devices/me/ota'
export const OTA_REPORT_PATH = '/v1/devices/me/ota/report'
/** The bundle download route (GET, signed, Range); a target's `downloadPath` is `otaBundlePath(releaseId)`. */
export const OTA_BUNDLE_ROUTE = '/v1/releases/:releaseId/bundle'
export const otaBundlePath = (releaseId: string): string => OTA_BUNDLE_ROUTE.replace(':releaseId', releaseId)

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)))

export const BUNDLE_KINDS = ['runtime', 'firmware', 'model', 'release-keys'] as const
export type BundleKind = (typeof BUNDLE_KINDS)[number]
export const BundleKindSchema = literals(BUNDLE_KINDS)

export const OTA_DEVICE_STATES = ['pending', 'downloading', 'verifying', 'installing', 'trial', 'committed', 'rolled-back', 'failed'] as const
export type OtaDeviceState = (typeof OTA_DEVICE_STATES)[number]
export const OtaDeviceStateSchema = literals(OTA_DEVICE_STATES)

const OtaRelease = Type.Object({
  releaseId: ReleaseIdSchema,
  rolloutId: RolloutIdSchema,
  name: BundleNameSchema,
  version: VersionSchema,
  kind: BundleKindSchema,
  bundleBytes: Type.Integer({ minimum: 0, description: 'Bytes of the whole bundle file (for the disk-space check and Range resume)' }),
  bundleSha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex sha256 of the whole bundle file' }),
  downloadPath: HubPathSchema,
  allowDowngrade: Type.Boolean({ description: 'An admin allowed installing this even if it is a lower version than installed' }),
})

/** What the device should run now; `release` null: nothing to install. */
export const OtaTarget = Type.Object({ release: Type.Union([Type.Null(), OtaRelease]) })
export type OtaTarget = Static<typeof OtaTarget>

/** The edge reports progress and the outcome of its update. */
export const OtaReport = Type.Object(
  {
    rolloutId: RolloutIdSchema,
    releaseId: ReleaseIdSchema,
    state: OtaDeviceStateSchema,
    code: Type.Optional(Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'Stable error code (docs/errors.md) with failed / rolled-back' })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    runningVersion: Type.String({ minLength: 1, maxLength: 64, description: 'Version running after this step' }),
    at: Type.Integer({ minimum: 0, description: 'Device time of the step, epoch ms' }),
  },
  { additionalProperties: false },
)
export type OtaReport = Static<typeof OtaReport>

export const OtaReportAnswer = Type.Object({ state: OtaDeviceStateSchema, changed: Type.Boolean({ description: 'false: a repeated report that changed nothing' }) })
export type OtaReportAnswer = Static<typeof OtaReportAnswer>

export const otaTargetExchange = defineExchange({ name: 'OTA target', method: 'GET', path: OTA_TARGET_PATH, status: 200, body: null, answer: OtaTarget })
export const otaReportExchange = defineExchange({ name: 'OTA report', method: 'POST', path: OTA_REPORT_PATH, status: 200, body: OtaReport, answer: OtaReportAnswer })
