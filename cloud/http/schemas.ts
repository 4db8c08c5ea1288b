import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { DeviceTier } from '../../shared/protocol/enrolment.js'
import { GroupNameSchema } from '../../shared/protocol/identifiers.js'

/** The body of every error answer (see docs/errors.md). */
export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable error code from the catalogue, e.g. HUB_ERR_UNAUTHENTICATED' }),
    message: Type.String(),
    hint: Type.String({ description: 'What to do about it' }),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { $id: 'HubErrorBody', title: 'Error' },
)

/** Response schemas for a route: its success body, and the error body for any 4xx/5xx. */
export function responses(success: Record<number, TSchema>): Record<string, TSchema> {
  return { ...success, '4xx': Type.Ref('HubErrorBody'), '5xx': Type.Ref('HubErrorBody') }
}

/** OpenAPI security requirement for routes that need a bearer token. */
export const bearerSecurity = [{ bearerAuth: [] as string[] }]

export const Username = Type.String({ pattern: '^[a-z][a-z0-9._-]{1,63}$', description: '2-64 characters of a-z 0-9 . _ - starting with a letter' })
export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('viewer')])
/** The device tier, as the enrolment answer carries it (shared/protocol/enrolment.ts). */
export const TierSchema = DeviceTier
/** The fleet group pattern the edge checks too (shared/protocol/identifiers.ts). */
export const GroupName = GroupNameSchema

/**
 * `schema` or null, for response bodies, as OpenAPI 3.0's `nullable: true`.
 * fast-json-stringify serialises it directly, where a `Type.Union([.., Null])`
 * (anyOf) makes it run ajv on every value to pick the branch, date-time
 * format checks included: measured here, that was a third of the time of a
 * 100-device list.
 */
export const Nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true })
