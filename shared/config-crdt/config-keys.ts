import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { CloudosError } from '../errors.js'
import { describeExpectation } from '../config/validate.js'

/**
 * Config keys are dotted paths to leaves of the config schema
 * (`ingest.maxPayloadBytes`, `rules.temp.max`). The walk is generic over the
 * TypeBox schema: `Type.Object` properties, `Type.Record` (patternProperties
 * or additionalProperties: the segment is a free name such as a rule name),
 * `Type.Optional`, and unions of objects. Anything that is not an object
 * schema is a leaf, arrays included (an array is replaced whole).
 */

/** One key segment: a property or a record entry name (no dots: a dot separates segments). */
export const KEY_SEGMENT = /^[A-Za-z0-9_:-]{1,64}$/

type JsonSchema = TSchema & {
  type?: string
  properties?: Record<string, TSchema>
  patternProperties?: Record<string, TSchema>
  additionalProperties?: boolean | TSchema
  anyOf?: TSchema[]
  'x-apply'?: ApplyMode
  'x-device-local'?: boolean
}

export type ApplyMode = 'live' | 'restart'

/** Where a key leads in the schema. */
export interface ResolvedKey {
  key: string
  /** The schema at the key (a leaf, or an object schema when the key names a section or a record entry). */
  schema: TSchema
  isObject: boolean
  /** `x-apply` from the nearest annotated schema on the path, if any. */
  annotatedMode: ApplyMode | undefined
  /** `x-device-local: true` on the key or a section above it: only the edge's own file may set it. */
  deviceLocal: boolean
}

const asJson = (schema: TSchema) => schema as JsonSchema

export function isObjectSchema(schema: TSchema): boolean {
  const s = asJson(schema)
  if (s.type === 'object') return true
  return Array.isArray(s.anyOf) && s.anyOf.length > 0 && s.anyOf.every((branch) => asJson(branch).type === 'object')
}

/** The child schema for `segment` inside an object schema, or undefined when the schema allows no such key. */
function childOf(schema: TSchema, segment: string): TSchema | undefined {
  const s = asJson(schema)
  if (Array.isArray(s.anyOf)) {
    for (const branch of s.anyOf) {
      const found = childOf(branch, segment)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (s.properties !== undefined && Object.hasOwn(s.properties, segment)) return s.properties[segment]
  if (s.patternProperties !== undefined) {
    for (const [pattern, child] of Object.entries(s.patternProperties)) if (new RegExp(pattern).test(segment)) return child
  }
  if (typeof s.additionalProperties === 'object') return s.additionalProperties
  return undefined
}

/** Keys allowed directly under an object schema, for error messages. */
export function allowedChildren(schema: TSchema): string[] {
  const s = asJson(schema)
  if (Array.isArray(s.anyOf)) return [...new Set(s.anyOf.flatMap(allowedChildren))]
  const names = Object.keys(s.properties ?? {})
  if (s.patternProperties !== undefined || typeof s.additionalProperties === 'object') names.push('<name>')
  return names
}

/** Resolves a dotted key against the schema; CONFIG_ERR_UNKNOWN_KEY names the first segment the schema does not allow. */
export function resolveKey(root: TSchema, key: string): ResolvedKey {
  const segments = key.split('.')
  let schema = root
  let mode = asJson(root)['x-apply']
  let deviceLocal = asJson(root)['x-device-local'] === true
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string
    const here = segments.slice(0, i).join('.')
    if (!KEY_SEGMENT.test(segment)) {
      throw new CloudosError('CONFIG_ERR_UNKNOWN_KEY', `"${key}" is not a config key: segment ${JSON.stringify(segment)} must be 1-64 characters of A-Z a-z 0-9 _ : -`, { key })
    }
    const child = isObjectSchema(schema) ? childOf(schema, segment) : undefined
    if (child === undefined) {
      const allowed = isObjectSchema(schema) ? allowedChildren(schema) : []
      throw new CloudosError(
        'CONFIG_ERR_UNKNOWN_KEY',
        `unknown key "${key}"${allowed.length > 0 ? `; allowed keys${here ? ` under "${here}"` : ''}: ${allowed.join(', ')}` : `: "${here}" is a value, not a section`}`,
        { key, allowed },
      )
    }
    schema = child
    mode = asJson(schema)['x-apply'] ?? mode
    deviceLocal ||= asJson(schema)['x-device-local'] === true
  }
  return { key, schema, isObject: isObjectSchema(schema), annotatedMode: mode, deviceLocal }
}

/** Flattens a nested object into `{dotted.key: leafValue}` (arrays are leaves). */
export function flattenObject(value: unknown, prefix = '', into: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenObject(v, prefix === '' ? k : `${prefix}.${k}`, into)
    if (prefix !== '' && Object.keys(value as object).length === 0) into[prefix] = {}
  } else if (prefix !== '' && value !== undefined) {
    into[prefix] = value
  }
  return into
}

/** The inverse of flattenObject: later keys win where paths collide. */
export function unflattenObject(flat: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {}
  for (const key of Object.keys(flat).sort()) {
    const segments = key.split('.')
    let node = root
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment]
      if (next === null || typeof next !== 'object' || Array.isArray(next)) node[segment] = {}
      node = node[segment] as Record<string, unknown>
    }
    const last = segments[segments.length - 1] as string
    const value = flat[key]
    // An empty object is a placeholder: it must not erase keys set beneath it.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0 && typeof node[last] === 'object') continue
    node[last] = value
  }
  return root
}

/**
 * Checks one `key = value` assignment against the schema and expands it into
 * leaf assignments: an object value at a section or record entry becomes one
 * assignment per leaf (so concurrent edits of sibling keys merge), a leaf
 * value is checked against the leaf schema.
 */
export function checkAssignment(root: TSchema, key: string, value: unknown): Record<string, unknown> {
  const resolved = resolveKey(root, key)
  if (value === undefined) throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `"${key}" needs a value (use unset to remove it)`, { key })
  if (resolved.isObject) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `"${key}" is a section: give an object of its keys (got ${JSON.stringify(value)})`, { key, got: value })
    }
    const leaves: Record<string, unknown> = {}
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) return { [key]: {} }
    for (const [child, childValue] of entries) Object.assign(leaves, checkAssignment(root, `${key}.${child}`, childValue))
    return leaves
  }
  if (!Value.Check(resolved.schema, value)) {
    const first = Value.Errors(resolved.schema, value).First()
    throw new CloudosError(
      'CONFIG_ERR_INVALID_VALUE',
      `"${key}" ${describeExpectation(resolved.schema)} (got ${JSON.stringify(value)})${first ? `: ${first.message}` : ''}`,
      { key, got: value, expected: describeExpectation(resolved.schema) },
    )
  }
  return { [key]: value }
}

/**
 * Parses `key=value` text from a command line: the value is JSON when it
 * parses as JSON and the schema accepts it, else the raw text as a string.
 */
export function parseAssignmentText(root: TSchema, text: string): { key: string; value: unknown } {
  const at = text.indexOf('=')
  if (at <= 0) throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `"${text}" is not key=value`, { got: text })
  const key = text.slice(0, at).trim()
  const raw = text.slice(at + 1)
  let parsed: unknown = raw
  try {
    parsed = JSON.parse(raw)
  } catch {
    return { key, value: raw }
  }
  const resolved = resolveKey(root, key)
  if (!resolved.isObject && typeof parsed !== 'string' && !Value.Check(resolved.schema, parsed) && Value.Check(resolved.schema, raw)) return { key, value: raw }
  return { key, value: parsed }
}
