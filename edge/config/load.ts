import { readFileSync } from 'node:fs'
import cron from 'node-cron'
import { CloudosError } from '../../shared/errors.js'
import { validateConfig } from '../../shared/config/validate.js'
import { compileRules } from '../../shared/rules/compiled-rule.js'
import { EdgeConfigSchema, type EdgeConfig } from '../../shared/config/edge-config-schema.js'

/** A partial config, e.g. from CLI flags, merged over the file before validation. */
export type EdgeConfigOverrides = { [K in keyof EdgeConfig]?: Partial<EdgeConfig[K]> }

/** Reads the JSON config file (if any), merges CLI overrides and validates the result. */
export function loadEdgeConfig(file: string | undefined, overrides: EdgeConfigOverrides = {}): EdgeConfig {
  let fromFile: Record<string, unknown> = {}
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new CloudosError('CONFIG_ERR_UNREADABLE', `cannot read config file ${file}: ${(err as Error).message}`, { file })
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>
    } catch (err) {
      throw new CloudosError('CONFIG_ERR_PARSE', `config file ${file} is not valid JSON: ${(err as Error).message}`, { file })
    }
    if (fromFile === null || typeof fromFile !== 'object' || Array.isArray(fromFile)) {
      throw new CloudosError('CONFIG_ERR_INVALID_VALUE', `config file ${file}: the top level must be a JSON object`, { key: '(root)' })
    }
  }
  const config = validateConfig(EdgeConfigSchema, mergeSections(fromFile, overrides), file ?? 'edge config')
  if (!cron.validate(config.storage.retentionSchedule)) {
    throw new CloudosError(
      'CONFIG_ERR_INVALID_VALUE',
      `${file ?? 'edge config'}: "storage.retentionSchedule" must be a cron expression such as "*/5 * * * *" (got ${JSON.stringify(config.storage.retentionSchedule)})`,
      { key: 'storage.retentionSchedule', got: config.storage.retentionSchedule },
    )
  }
  // What the schema cannot say about a rule (a condition present, clear levels on the quiet side): RULES_ERR_INVALID.
  compileRules(config.rules)
  return config
}

function mergeSections(base: Record<string, unknown>, overrides: EdgeConfigOverrides): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base }
  for (const [section, values] of Object.entries(overrides)) {
    if (values === undefined) continue
    const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
    if (Object.keys(defined).length === 0) continue
    const current = merged[section]
    if (current === undefined) merged[section] = defined
    // A section that is not an object (e.g. "mqtt": null) is left for the
    // validator to report, rather than silently replaced by the flags.
    else if (current !== null && typeof current === 'object' && !Array.isArray(current)) merged[section] = { ...(current as object), ...defined }
  }
  return merged
}
