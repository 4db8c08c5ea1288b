import type { TSchema } from '@sinclair/typebox'
import { resolveKey, type ApplyMode } from './config-keys.js'

/**
 * Whether a change to a key takes effect at once (`live`) or at the next
 * start of the edge (`restart`). The schema says it with an `x-apply`
 * annotation on a key or a whole section (the nearest one on the path wins);
 * this table covers sections whose schema carries no annotation yet (added
 * by other branches). A key known to neither is `restart`: applying live is
 * a promise the subsystem has to keep, so it is opt-in.
 */
export const fallbackApplyModes: Readonly<Record<string, ApplyMode>> = {
  rules: 'live',
  anomaly: 'live',
  outbox: 'live',
  ota: 'restart',
}

export function applyModeOf(schema: TSchema, key: string): ApplyMode {
  let annotated: ApplyMode | undefined
  try {
    annotated = resolveKey(schema, key).annotatedMode
  } catch {
    annotated = undefined
  }
  if (annotated !== undefined) return annotated
  const segments = key.split('.')
  for (let i = segments.length; i > 0; i--) {
    const mode = fallbackApplyModes[segments.slice(0, i).join('.')]
    if (mode !== undefined) return mode
  }
  return 'restart'
}
