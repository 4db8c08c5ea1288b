import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { describeExpectation } from '../config/validate.js'
import type { ErrorCode } from '../errors.js'
import { flattenObject, resolveKey, unflattenObject } from './config-keys.js'
import { isDeviceLocalKey, withoutDeviceLocalKeys } from './device-local-keys.js'

/**
 * The effective config of a device, key by key (leaf by leaf): schema
 * defaults, then the edge's local file (its bootstrap), then the group
 * document, then the device document. The deepest layer that sets a key
 * wins; a key no layer sets takes the layer below it, down to the default.
 * "Unset" in a layer means absent from it: removing a key from the device
 * document lets the group's value (or the file's, or the default) show
 * through again.
 */
export const LAYERS = ['default', 'file', 'group', 'device'] as const
export type LayerName = (typeof LAYERS)[number]

export interface ConfigProblem {
  key: string
  /** CONFIG_ERR_UNKNOWN_KEY, CONFIG_ERR_INVALID_VALUE, or the code of a check beyond the schema (e.g. RULES_ERR_INVALID). */
  code: ErrorCode
  reason: string
  /** The layer the offending value came from, when one layer set it. */
  layer?: LayerName
}

export type Layered<T> =
  | { ok: true; config: T; sources: Record<string, LayerName>; refused: ConfigProblem[] }
  | { ok: false; problems: ConfigProblem[]; sources: Record<string, LayerName>; refused: ConfigProblem[] }

export interface LayerValues {
  file?: Record<string, unknown>
  group?: Record<string, unknown>
  device?: Record<string, unknown>
  /** Extra checks beyond the schema (e.g. a cron expression that parses). */
  extraCheck?: (config: unknown) => ConfigProblem[]
  /**
   * The edge: keys marked `x-device-local` in the group and device documents
   * are refused (listed in `refused`, CONFIG_ERR_DEVICE_LOCAL_KEY) and the
   * file's values for them stay, whatever a document sets above them. The
   * rest of each document applies.
   */
  refuseDeviceLocal?: boolean
}

/** Merges the layers and validates the result against the schema, collecting every problem (not only the first). */
export function effectiveConfig<T extends TSchema>(schema: T, layers: LayerValues): Layered<Static<T>> {
  const merged: Record<string, unknown> = {}
  const sources: Record<string, LayerName> = {}
  const problems: ConfigProblem[] = []
  const refused: ConfigProblem[] = []
  for (const layer of ['file', 'group', 'device'] as const) {
    let values = layers[layer] ?? {}
    const guarded = layer !== 'file' && layers.refuseDeviceLocal === true
    if (guarded) {
      const split = withoutDeviceLocalKeys(schema, values, layer)
      values = split.kept
      refused.push(...split.refused)
    }
    for (const [key, value] of Object.entries(values)) {
      try {
        resolveKey(schema, key)
      } catch (err) {
        problems.push({ key, code: 'CONFIG_ERR_UNKNOWN_KEY', reason: (err as Error).message, layer })
        continue
      }
      // A deeper layer's key replaces what lower layers set at or beneath it,
      // except the file's device-local keys, which no document replaces.
      for (const k of Object.keys(merged)) if (k.startsWith(`${key}.`) && !(guarded && isDeviceLocalKey(schema, k))) delete merged[k]
      merged[key] = value
      sources[key] = layer
    }
  }
  // Values read from Automerge documents are frozen: defaults are filled into a copy.
  const candidate = Value.Default(schema, Value.Clone(unflattenObject(merged))) as unknown
  for (const error of Value.Errors(schema, candidate)) {
    const key = error.path.split('/').filter(Boolean).join('.') || '(root)'
    if (problems.some((p) => p.key === key)) continue
    const reason =
      error.type === ValueErrorType.ObjectAdditionalProperties
        ? `unknown key "${key}"`
        : `"${key}" ${describeExpectation(error.schema)} (got ${JSON.stringify(error.value)}): ${error.message}`
    const layer = sources[key] ?? Object.entries(sources).find(([k]) => k.startsWith(`${key}.`))?.[1]
    problems.push({ key, code: error.type === ValueErrorType.ObjectAdditionalProperties ? 'CONFIG_ERR_UNKNOWN_KEY' : 'CONFIG_ERR_INVALID_VALUE', reason, ...(layer ? { layer } : {}) })
  }
  if (problems.length === 0 && layers.extraCheck) problems.push(...layers.extraCheck(candidate))
  for (const key of Object.keys(flattenObject(candidate))) sources[key] ??= 'default'
  return problems.length > 0 ? { ok: false, problems, sources, refused } : { ok: true, config: candidate as Static<T>, sources, refused }
}

/** The keys of a validated config that differ from the schema defaults: the local file's layer. */
export function nonDefaultLeaves(schema: TSchema, config: unknown): Record<string, unknown> {
  const defaults = flattenObject(Value.Default(schema, {}))
  const leaves = flattenObject(config)
  return Object.fromEntries(Object.entries(leaves).filter(([k, v]) => JSON.stringify(defaults[k]) !== JSON.stringify(v)))
}

/** Leaf keys whose value differs between two configs. */
export function changedKeys(before: unknown, after: unknown): string[] {
  const a = flattenObject(before)
  const b = flattenObject(after)
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort()
}
