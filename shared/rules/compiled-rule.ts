import { CloudosError } from '../errors.js'
import { Value } from '@sinclair/typebox/value'
import { RuleSchema, type RuleActionConfig, type RuleConfig, type RulesConfig } from '../config/edge-config-schema.js'
import type { AlertSeverity } from '../protocol/alerts.js'
import { compileGlob, type GlobMatcher } from './glob.js'

/** What a rule watches; one rule may combine several. */
export const CONDITION_KINDS = ['above', 'below', 'rate', 'score', 'missing'] as const
export type ConditionKind = (typeof CONDITION_KINDS)[number]

/** A rule checked and turned into what evaluation needs: matchers, and thresholds with their clear levels. */
export interface CompiledRule {
  name: string
  /** Same text for the same definition: an unchanged rule keeps its state across a config update. */
  fingerprint: string
  matchesSensor: GlobMatcher
  matchesMetric: GlobMatcher
  severity: AlertSeverity
  cooldownMs: number
  label: string
  above?: { trigger: number; clear: number }
  below?: { trigger: number; clear: number }
  rate?: { trigger: number; clear: number }
  score?: { trigger: number; clear: number }
  missingMs?: number
  /** The rule has a condition evaluated on each accepted reading (value or rate). */
  onReading: boolean
  action?: RuleActionConfig
}

/**
 * Checks what the schema cannot (a condition is present, clear levels lie on
 * the quiet side of their triggers) and compiles every enabled rule. Throws
 * RULES_ERR_INVALID naming the rule and the field.
 */
export function compileRules(rules: RulesConfig): CompiledRule[] {
  const compiled: CompiledRule[] = []
  for (const [name, rule] of Object.entries(rules)) {
    if (rule.enabled === false) continue
    compiled.push(compileRule(name, rule))
  }
  return compiled
}

export function compileRule(name: string, rule: RuleConfig): CompiledRule {
  const fail = (field: string, what: string): never => {
    throw new CloudosError('RULES_ERR_INVALID', `rule "${name}": ${field} ${what}`, { rule: name, key: `rules.${name}.${field}` })
  }
  const orphan = (clear: keyof RuleConfig, trigger: keyof RuleConfig) => {
    if (rule[clear] !== undefined && rule[trigger] === undefined) fail(clear, `is set without ${trigger}`)
  }
  orphan('clearMax', 'max')
  orphan('clearMin', 'min')
  orphan('clearRateMax', 'rateMax')
  orphan('clearScoreMin', 'scoreMin')
  if (rule.max === undefined && rule.min === undefined && rule.rateMax === undefined && rule.scoreMin === undefined && rule.missingSeconds === undefined) {
    fail('(conditions)', 'has none: set at least one of max, min, rateMax, scoreMin, missingSeconds')
  }
  if (rule.max !== undefined && rule.min !== undefined && rule.min >= rule.max) fail('min', `(${rule.min}) must be below max (${rule.max})`)
  if (rule.clearMax !== undefined && rule.max !== undefined && rule.clearMax > rule.max) fail('clearMax', `(${rule.clearMax}) must be <= max (${rule.max})`)
  if (rule.clearMin !== undefined && rule.min !== undefined && rule.clearMin < rule.min) fail('clearMin', `(${rule.clearMin}) must be >= min (${rule.min})`)
  if (rule.clearRateMax !== undefined && rule.rateMax !== undefined && rule.clearRateMax > rule.rateMax) fail('clearRateMax', `(${rule.clearRateMax}) must be <= rateMax (${rule.rateMax})`)
  if (rule.clearScoreMin !== undefined && rule.scoreMin !== undefined && rule.clearScoreMin > rule.scoreMin) fail('clearScoreMin', `(${rule.clearScoreMin}) must be <= scoreMin (${rule.scoreMin})`)
  const compiled: CompiledRule = {
    name,
    fingerprint: fingerprintOf(rule),
    matchesSensor: compileGlob(rule.sensor ?? '*'),
    matchesMetric: compileGlob(rule.metric ?? '*'),
    severity: rule.severity ?? 'warning',
    cooldownMs: (rule.cooldownSeconds ?? 60) * 1000,
    label: rule.message ?? name,
    onReading: rule.max !== undefined || rule.min !== undefined || rule.rateMax !== undefined,
  }
  if (rule.max !== undefined) compiled.above = { trigger: rule.max, clear: rule.clearMax ?? rule.max }
  if (rule.min !== undefined) compiled.below = { trigger: rule.min, clear: rule.clearMin ?? rule.min }
  if (rule.rateMax !== undefined) compiled.rate = { trigger: rule.rateMax, clear: rule.clearRateMax ?? rule.rateMax }
  if (rule.scoreMin !== undefined) compiled.score = { trigger: rule.scoreMin, clear: rule.clearScoreMin ?? rule.scoreMin }
  if (rule.missingSeconds !== undefined) compiled.missingMs = rule.missingSeconds * 1000
  if (rule.action !== undefined) compiled.action = rule.action
  return compiled
}

/** The rule with its defaults filled in, keys sorted: equal for equal definitions however they were written. */
function fingerprintOf(rule: RuleConfig): string {
  const full = Value.Default(RuleSchema, Value.Clone(rule)) as Record<string, unknown>
  return JSON.stringify(full, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  )
}
