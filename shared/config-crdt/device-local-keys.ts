import type { TSchema } from '@sinclair/typebox'
import { flattenObject, resolveKey, unflattenObject } from './config-keys.js'

/**
 * Device-local keys: what grants trust or runs code (release keys, the
 * installer command, broker auth/ACL/TLS, listener hosts and ports, paths,
 * commands) is settable only in the edge's own config file. The schema says
 * which keys with `'x-device-local': true` on the key or on a section above
 * it (shared/config/edge-config-schema.ts); nothing here lists keys by name,
 * so a key added with the annotation is enforced without touching this file.
 *
 * A config document (the group's or the device's, from the hub or through
 * the local API) that sets one is refused for that key with
 * CONFIG_ERR_DEVICE_LOCAL_KEY; the rest of the document still applies.
 */
export const DEVICE_LOCAL_ANNOTATION = 'x-device-local'

type SchemaNode = TSchema & {
  type?: string
  properties?: Record<string, TSchema>
  patternProperties?: Record<string, TSchema>
  additionalProperties?: boolean | TSchema
  anyOf?: TSchema[]
  [DEVICE_LOCAL_ANNOTATION]?: boolean
}

/** True when `key` (a dotted config key) is device-local; false for unknown keys (they are refused as unknown elsewhere). */
export function isDeviceLocalKey(schema: TSchema, key: string): boolean {
  try {
    return resolveKey(schema, key).deviceLocal
  } catch {
    return false
  }
}

/**
 * Every annotated key of the schema as a dotted path (record entries as
 * `<name>`): the keys only the device's file may set, for docs and tests.
 */
export function deviceLocalKeys(schema: TSchema, prefix = ''): string[] {
  const node = schema as SchemaNode
  if (node[DEVICE_LOCAL_ANNOTATION] === true && prefix !== '') return [prefix]
  const found: string[] = []
  const join = (name: string) => (prefix === '' ? name : `${prefix}.${name}`)
  for (const [name, child] of Object.entries(node.properties ?? {})) found.push(...deviceLocalKeys(child, join(name)))
  for (const child of Object.values(node.patternProperties ?? {})) found.push(...deviceLocalKeys(child, join('<name>')))
  if (typeof node.additionalProperties === 'object') found.push(...deviceLocalKeys(node.additionalProperties, join('<name>')))
  for (const branch of node.anyOf ?? []) found.push(...deviceLocalKeys(branch, prefix))
  return [...new Set(found)]
}

/** A refused key of a document layer (a ConfigProblem of shared/config-crdt/layers.ts). */
export interface DeviceLocalRefusal<L extends string = string> {
  key: string
  code: 'CONFIG_ERR_DEVICE_LOCAL_KEY'
  reason: string
  layer: L
}

function problem<L extends string>(key: string, layer: L): DeviceLocalRefusal<L> {
  return {
    key,
    code: 'CONFIG_ERR_DEVICE_LOCAL_KEY',
    reason: `"${key}" grants trust or runs code: only the edge's own config file may set it; the ${layer} document's value is ignored`,
    layer,
  }
}

/**
 * Splits one document layer (`{dotted key: value}`) into what may apply and
 * what is refused. A device-local key is dropped; an object value at a
 * section (e.g. `ota = {...}`) loses its device-local leaves and is rebuilt
 * as a fresh object (values read from Automerge are frozen, and the file's
 * device-local values are merged beneath it later).
 */
export function withoutDeviceLocalKeys<L extends string>(
  schema: TSchema,
  values: Record<string, unknown>,
  layer: L,
): { kept: Record<string, unknown>; refused: DeviceLocalRefusal<L>[] } {
  const kept: Record<string, unknown> = {}
  const refused: DeviceLocalRefusal<L>[] = []
  for (const [key, value] of Object.entries(values)) {
    if (isDeviceLocalKey(schema, key)) {
      refused.push(problem(key, layer))
      continue
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      kept[key] = value
      continue
    }
    const leaves = flattenObject(value)
    const allowed: Record<string, unknown> = {}
    for (const [leaf, leafValue] of Object.entries(leaves)) {
      if (isDeviceLocalKey(schema, `${key}.${leaf}`)) refused.push(problem(`${key}.${leaf}`, layer))
      else allowed[leaf] = leafValue
    }
    kept[key] = unflattenObject(allowed)
  }
  return { kept, refused }
}
