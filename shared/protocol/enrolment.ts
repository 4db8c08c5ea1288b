import { Type, type Static } from '@sinclair/typebox'
import { defineExchange } from './exchange.js'
import { DeviceIdSchema, GroupNameSchema, HubIdSchema } from './identifiers.js'

/** The one unsigned device request: a new device trades a single-use token for its place in the fleet. */
export const ENROL_PATH = '/v1/devices/enroll'

export const DeviceTier = Type.Union([Type.Literal('edge'), Type.Literal('lite')], { description: 'edge: full runtime; lite: constrained device' })
export type DeviceTier = Static<typeof DeviceTier>

/** What a device reports about itself at enrolment; the hub checks it against enrolment.minimums. */
export const DeviceFacts = Type.Object(
  {
    cpuCount: Type.Integer({ minimum: 0, maximum: 4096 }),
    memoryBytes: Type.Integer({ minimum: 0 }),
    freeDiskBytes: Type.Integer({ minimum: 0, description: 'Free space, for an unprivileged process, of the file system holding the data dir' }),
    arch: Type.String({ minLength: 1, maxLength: 32, description: 'process.arch, e.g. arm64' }),
    os: Type.String({ minLength: 1, maxLength: 128, description: 'e.g. linux 6.1.0-rpi' }),
    runtimeVersion: Type.String({ minLength: 1, maxLength: 32, description: 'process.version, e.g. v20.20.2' }),
  },
  { additionalProperties: false },
)
export type DeviceFacts = Static<typeof DeviceFacts>

export const EnrolBody = Type.Object(
  {
    enrolmentToken: Type.String({ minLength: 1, maxLength: 200 }),
    publicKey: Type.String({ minLength: 1, maxLength: 100, description: 'The device\'s Ed25519 public key: 32 raw bytes, base64' }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    facts: DeviceFacts,
  },
  { additionalProperties: false },
)
export type EnrolBody = Static<typeof EnrolBody>

export const EnrolAnswer = Type.Object({
  deviceId: DeviceIdSchema,
  group: GroupNameSchema,
  tier: DeviceTier,
  hubId: HubIdSchema,
  hubPublicKeyPem: Type.String({ minLength: 1, description: 'The hub\'s Ed25519 key, for checking documents the hub signs' }),
})
export type EnrolAnswer = Static<typeof EnrolAnswer>

export const enrolExchange = defineExchange({ name: 'enrolment', method: 'POST', path: ENROL_PATH, status: 201, body: EnrolBody, answer: EnrolAnswer })
