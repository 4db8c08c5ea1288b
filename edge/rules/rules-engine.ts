import type { RuleActionConfig, RulesConfig } from '../../shared/config/edge-config-schema.js'
import type { AlertSeverity } from '../../shared/protocol/alerts.js'
import { compileRules, type CompiledRule, type ConditionKind } from '../../shared/rules/compiled-rule.js'

/** A rule's incident on one series starting (`raised`, an alert) or ending (`cleared`). */
export interface RuleEvent {
  state: 'raised' | 'cleared'
  rule: string
  kind: ConditionKind
  severity: AlertSeverity
  sensorId: string
  metric: string
  /** What was compared: the value, the rate per second, the score, or the seconds without data. */
  observed: number
  /** The level it crossed: the trigger when raised, the clear level when cleared. */
  threshold: number
  /** The reading that raised or cleared it (epoch ms), or the check time for missing data. */
  ts: number
  /** The latest reading's value (NaN when the series never sent one). */
  value: number
  message: string
  action?: RuleActionConfig
}

export interface RulesEngineStats {
  rules: number
  raised: number
  cleared: number
  /** Incidents that started within a rule's cooldown: no alert. */
  suppressedByCooldown: number
}

export interface RulesEngineOptions {
  rules: RulesConfig
  onEvent: (event: RuleEvent) => void
  /** Wall clock (epoch ms), for cooldowns and missing data. Injected for tests. */
  now?: () => number
}

const KIND_BIT: Record<ConditionKind, number> = { above: 1, below: 2, rate: 4, score: 8, missing: 16 }

/** One rule on one series: which of its conditions are in an incident, which of those alerted, when it last alerted. */
interface RuleSeriesState {
  active: number
  alerted: number
  lastAlertAt: number
}

interface SeriesEntry {
  sensorId: string
  metric: string
  lastTs: number
  lastValue: number
  /** Wall-clock arrival of the latest reading (or when the series became known). */
  lastSeenAt: number
  /** Rules matching this series, with their state, computed for `version`. */
  version: number
  matches: Array<{ rule: CompiledRule; state: RuleSeriesState }>
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, ''))

/**
 * Local critical decisions: value, rate-of-change, anomaly-score and
 * missing-data rules with hysteresis and cooldown, so one incident makes one
 * alert. Pure logic: it sees readings and scores, and reports events to
 * `onEvent`; storing and publishing alerts is the AlertDispatcher's job.
 *
 * Cheap per reading: a series' matching rules are found once (globs compiled
 * at config time) and cached on the series until the rules change.
 */
export class RulesEngine {
  readonly #onEvent: (event: RuleEvent) => void
  readonly #now: () => number
  #rules: CompiledRule[] = []
  /** Per rule name: its fingerprint and its per-series state, kept across updates while the rule is unchanged. */
  #states = new Map<string, { fingerprint: string; perSeries: Map<string, RuleSeriesState> }>()
  #version = 0
  readonly #series = new Map<string, SeriesEntry>()
  readonly #stats: RulesEngineStats = { rules: 0, raised: 0, cleared: 0, suppressedByCooldown: 0 }

  constructor(options: RulesEngineOptions) {
    this.#onEvent = options.onEvent
    this.#now = options.now ?? Date.now
    this.update(options.rules)
  }

  get stats(): Readonly<RulesEngineStats> {
    return this.#stats
  }

  /** True when some rule looks at anomaly scores (the inference loop can tell whether anyone listens). */
  get usesScores(): boolean {
    return this.#rules.some((r) => r.score !== undefined)
  }

  /**
   * Takes a new rule set while running (live config). Throws RULES_ERR_INVALID
   * and keeps the old set if a rule is inconsistent. Rules whose definition is
   * unchanged keep their incidents and cooldowns; changed or new rules start clean.
   */
  update(rules: RulesConfig): void {
    const compiled = compileRules(rules)
    const states = new Map<string, { fingerprint: string; perSeries: Map<string, RuleSeriesState> }>()
    for (const rule of compiled) {
      const old = this.#states.get(rule.name)
      states.set(rule.name, old !== undefined && old.fingerprint === rule.fingerprint ? old : { fingerprint: rule.fingerprint, perSeries: new Map() })
    }
    this.#rules = compiled
    this.#states = states
    this.#stats.rules = compiled.length
    this.#version++
  }

  /** Makes a series known before its first reading (e.g. from the store at start), so missing-data rules watch it. */
  knowSeries(sensorId: string, metric: string): void {
    this.#entry(`${sensorId}/${metric}`, sensorId, metric)
  }

  /** Evaluates value and rate rules on one accepted reading. `seriesKey` is `<sensorId>/<metric>`. */
  onReading(seriesKey: string, sensorId: string, metric: string, ts: number, value: number): void {
    const series = this.#entry(seriesKey, sensorId, metric)
    const previousTs = series.lastTs
    const previousValue = series.lastValue
    series.lastSeenAt = this.#now()
    // Out-of-order readings do not move the series' "latest" forward.
    if (!(ts < previousTs)) {
      series.lastTs = ts
      series.lastValue = value
    }
    const matches = this.#matches(series)
    if (matches.length === 0) return
    const dt = (ts - previousTs) / 1000
    const rate = dt > 0 ? Math.abs(value - previousValue) / dt : Number.NaN
    for (const { rule, state } of matches) {
      if (state.active & KIND_BIT.missing) this.#clear(rule, state, series, 'missing', 0, rule.missingMs! / 1000, ts)
      if (!rule.onReading) continue
      if (rule.above !== undefined) this.#level(rule, state, series, 'above', value, value > rule.above.trigger, value <= rule.above.clear, rule.above, ts)
      if (rule.below !== undefined) this.#level(rule, state, series, 'below', value, value < rule.below.trigger, value >= rule.below.clear, rule.below, ts)
      if (rule.rate !== undefined && !Number.isNaN(rate)) this.#level(rule, state, series, 'rate', rate, rate > rule.rate.trigger, rate <= rule.rate.clear, rule.rate, ts)
    }
  }

  /** Evaluates anomaly-score rules on one scored reading (after the model's run). NaN scores are ignored. */
  onScore(seriesKey: string, sensorId: string, metric: string, ts: number, score: number): void {
    if (Number.isNaN(score)) return
    const series = this.#entry(seriesKey, sensorId, metric)
    for (const { rule, state } of this.#matches(series)) {
      if (rule.score === undefined) continue
      this.#level(rule, state, series, 'score', score, score >= rule.score.trigger, score < rule.score.clear, rule.score, ts)
    }
  }

  /** Raises missing-data incidents for series silent for longer than a rule's missingSeconds. Call on a timer. */
  checkMissing(): void {
    const now = this.#now()
    for (const series of this.#series.values()) {
      for (const { rule, state } of this.#matches(series)) {
        if (rule.missingMs === undefined || state.active & KIND_BIT.missing) continue
        const silentMs = now - series.lastSeenAt
        if (silentMs >= rule.missingMs) this.#raise(rule, state, series, 'missing', silentMs / 1000, rule.missingMs / 1000, now)
      }
    }
  }

  /** How often `checkMissing` should run: a quarter of the shortest missingSeconds, within 50 ms..1 s; undefined without such rules. */
  missingCheckIntervalMs(): number | undefined {
    let shortest = Number.POSITIVE_INFINITY
    for (const r of this.#rules) if (r.missingMs !== undefined) shortest = Math.min(shortest, r.missingMs)
    return Number.isFinite(shortest) ? Math.min(1000, Math.max(50, Math.floor(shortest / 4))) : undefined
  }

  #entry(seriesKey: string, sensorId: string, metric: string): SeriesEntry {
    let series = this.#series.get(seriesKey)
    if (series === undefined) {
      series = { sensorId, metric, lastTs: Number.NaN, lastValue: Number.NaN, lastSeenAt: this.#now(), version: -1, matches: [] }
      this.#series.set(seriesKey, series)
    }
    return series
  }

  #matches(series: SeriesEntry): SeriesEntry['matches'] {
    if (series.version === this.#version) return series.matches
    const key = `${series.sensorId}/${series.metric}`
    series.matches = []
    for (const rule of this.#rules) {
      if (!rule.matchesSensor(series.sensorId) || !rule.matchesMetric(series.metric)) continue
      const perSeries = this.#states.get(rule.name)!.perSeries
      let state = perSeries.get(key)
      if (state === undefined) {
        state = { active: 0, alerted: 0, lastAlertAt: Number.NEGATIVE_INFINITY }
        perSeries.set(key, state)
      }
      series.matches.push({ rule, state })
    }
    series.version = this.#version
    return series.matches
  }

  /** Hysteresis: raise when the trigger holds and no incident is open; clear when the clear level is reached. */
  #level(
    rule: CompiledRule,
    state: RuleSeriesState,
    series: SeriesEntry,
    kind: ConditionKind,
    observed: number,
    triggered: boolean,
    quiet: boolean,
    levels: { trigger: number; clear: number },
    ts: number,
  ): void {
    const bit = KIND_BIT[kind]
    if (state.active & bit) {
      if (quiet) this.#clear(rule, state, series, kind, observed, levels.clear, ts)
    } else if (triggered) {
      this.#raise(rule, state, series, kind, observed, levels.trigger, ts)
    }
  }

  #raise(rule: CompiledRule, state: RuleSeriesState, series: SeriesEntry, kind: ConditionKind, observed: number, threshold: number, ts: number): void {
    const bit = KIND_BIT[kind]
    state.active |= bit
    const now = this.#now()
    if (now - state.lastAlertAt < rule.cooldownMs) {
      this.#stats.suppressedByCooldown++
      return
    }
    state.alerted |= bit
    state.lastAlertAt = now
    this.#stats.raised++
    this.#onEvent({
      ...eventOf('raised', rule, series, kind, observed, threshold, ts, describe(kind, observed, threshold)),
      ...(rule.action === undefined ? {} : { action: rule.action }),
    })
  }

  #clear(rule: CompiledRule, state: RuleSeriesState, series: SeriesEntry, kind: ConditionKind, observed: number, threshold: number, ts: number): void {
    const bit = KIND_BIT[kind]
    state.active &= ~bit
    if (!(state.alerted & bit)) return
    state.alerted &= ~bit
    this.#stats.cleared++
    this.#onEvent(eventOf('cleared', rule, series, kind, observed, threshold, ts, `back to normal (${kind === 'missing' ? 'data arrived' : describeClear(kind, observed, threshold)})`))
  }
}

/** The fields a raised and a cleared event share; `what` ends the message. */
function eventOf(
  state: RuleEvent['state'],
  rule: CompiledRule,
  series: SeriesEntry,
  kind: ConditionKind,
  observed: number,
  threshold: number,
  ts: number,
  what: string,
): RuleEvent {
  return {
    state,
    rule: rule.name,
    kind,
    severity: rule.severity,
    sensorId: series.sensorId,
    metric: series.metric,
    observed,
    threshold,
    ts,
    value: series.lastValue,
    message: `${rule.label}: ${series.sensorId}/${series.metric} ${what}`,
  }
}

function describe(kind: ConditionKind, observed: number, threshold: number): string {
  switch (kind) {
    case 'above':
      return `value ${fmt(observed)} above ${fmt(threshold)}`
    case 'below':
      return `value ${fmt(observed)} below ${fmt(threshold)}`
    case 'rate':
      return `changing ${fmt(observed)}/s, faster than ${fmt(threshold)}/s`
    case 'score':
      return `anomaly score ${fmt(observed)} >= ${fmt(threshold)}`
    case 'missing':
      return `no data for ${fmt(Math.round(observed * 10) / 10)} s (limit ${fmt(threshold)} s)`
  }
}

function describeClear(kind: ConditionKind, observed: number, threshold: number): string {
  switch (kind) {
    case 'above':
      return `value ${fmt(observed)} <= ${fmt(threshold)}`
    case 'below':
      return `value ${fmt(observed)} >= ${fmt(threshold)}`
    case 'rate':
      return `rate ${fmt(observed)}/s <= ${fmt(threshold)}/s`
    default:
      return `anomaly score ${fmt(observed)} < ${fmt(threshold)}`
  }
}
