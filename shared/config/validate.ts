import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { CloudosError } from '../errors.js'

/**
 * Validates `input` against a TypeBox schema: fills defaults from the schema,
 * refuses unknown keys, and throws one CloudosError that names the first
 * offending key (as a dotted path) and what is allowed there. The result is
 * deeply frozen: config is read-only once validated (as in fastify).
 */
export function validateConfig<T extends TSchema>(schema: T, input: unknown, source: string): Static<T> {
  const withDefaults = Value.Default(schema, Value.Clone(input ?? {}))
  const first = Value.Errors(schema, withDefaults).First()
  if (first !== undefined) {
    const key = pointerToKey(first.path) || '(root)'
    if (first.type === ValueErrorType.ObjectAdditionalProperties) {
      // TypeBox points at the unknown key itself; the allowed keys are the parent's properties.
      const segments = first.path.split('/').filter(Boolean)
      const parent = schemaAt(schema, segments.slice(0, -1))
      const allowed = Object.keys(parent?.properties ?? {})
      const keyPattern = parent?.patternProperties === undefined ? undefined : Object.keys(parent.patternProperties)[0]
      throw new CloudosError(
        'CONFIG_ERR_UNKNOWN_KEY',
        keyPattern !== undefined && allowed.length === 0
          ? `${source}: invalid key "${key}"; keys here must match ${keyPattern}`
          : `${source}: unknown key "${key}"; allowed keys here: ${allowed.join(', ')}`,
        { key, allowed },
      )
    }
    throw new CloudosError(
      'CONFIG_ERR_INVALID_VALUE',
      `${source}: "${key}" ${describeExpectation(first.schema)} (got ${JSON.stringify(first.value)}): ${first.message}`,
      { key, got: first.value as unknown, expected: describeExpectation(first.schema) },
    )
  }
  return deepFreeze(withDefaults) as Static<T>
}

function pointerToKey(pointer: string): string {
  return pointer.split('/').filter(Boolean).join('.')
}

type SchemaNode = { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema> }

function schemaAt(schema: TSchema, segments: string[]): SchemaNode | undefined {
  let current: SchemaNode | undefined = schema as SchemaNode
  for (const segment of segments) {
    // A record (e.g. rules keyed by name) holds one schema for every key.
    const record = current?.patternProperties === undefined ? undefined : Object.values(current.patternProperties)[0]
    current = (current?.properties?.[segment] ?? record) as SchemaNode | undefined
  }
  return current
}

/** A short human description of what a schema accepts, e.g. "must be an integer in [1, 65535]". */
export function describeExpectation(schema: TSchema): string {
  const s = schema as Record<string, unknown>
  if (Array.isArray(s.anyOf)) {
    const literals = (s.anyOf as Record<string, unknown>[]).map((v) => v.const).filter((v) => v !== undefined)
    if (literals.length > 0) return `must be one of ${literals.map((v) => JSON.stringify(v)).join(', ')}`
  }
  const type = s.type === 'integer' ? 'an integer' : s.type === 'number' ? 'a number' : s.type === 'string' ? 'a string' : s.type === 'boolean' ? 'a boolean' : s.type === 'object' ? 'an object' : s.type === 'array' ? 'an array' : 'a valid value'
  const range: string[] = []
  if (s.minimum !== undefined) range.push(`>= ${String(s.minimum)}`)
  if (s.maximum !== undefined) range.push(`<= ${String(s.maximum)}`)
  if (s.minLength !== undefined) range.push(`at least ${String(s.minLength)} characters`)
  if (s.pattern !== undefined) range.push(`matching ${String(s.pattern)}`)
  return `must be ${type}${range.length ? ' ' + range.join(' and ') : ''}`
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value as object)) deepFreeze(child)
  }
  return value
}
