import { describe, expect, it } from 'vitest'
import { CloudosError } from '../../shared/errors.js'
import { loadEdgeConfig } from '../../edge/config/load.js'
import type { RulesConfig } from '../../shared/config/edge-config-schema.js'
import { compileGlob } from '../../shared/rules/glob.js'
import { RulesEngine, type RuleEvent } from '../../edge/rules/rules-engine.js'

/** Rules as the config loader yields them (defaults filled in). */
const rules = (r: Record<string, unknown>): RulesConfig => loadEdgeConfig(undefined, { rules: r } as never).rules

function harness(r: Record<string, unknown>) {
  let now = 1_000_000
  const events: RuleEvent[] = []
  const engine = new RulesEngine({ rules: rules(r), onEvent: (e) => events.push(e), now: () => now })
  let ts = 1_000_000
  const feed = (sensor: string, metric: string, ...values: number[]) => {
    for (const v of values) {
      ts += 1000
      now += 1000
      engine.onReading(`${sensor}/${metric}`, sensor, metric, ts, v)
    }
  }
  return { engine, events, feed, advance: (ms: number) => (now += ms) }
}

describe('globs', () => {
  it('match * and ? and nothing else', () => {
    expect(compileGlob('temp-*')('temp-01')).toBe(true)
    expect(compileGlob('temp-*')('xtemp-01')).toBe(false)
    expect(compileGlob('t?mp')('temp')).toBe(true)
    expect(compileGlob('t?mp')('teemp')).toBe(false)
    expect(compileGlob('a.b')('axb')).toBe(false)
    expect(compileGlob('*')('anything')).toBe(true)
  })
})

describe('rules engine: value rules with hysteresis and cooldown', () => {
  it('raises one alert per incident and clears only at the clear level', () => {
    const h = harness({ hot: { sensor: 'temp-*', metric: 'temperature', max: 80, clearMax: 75, cooldownSeconds: 0, severity: 'critical' } })
    h.feed('temp-01', 'temperature', 70, 81, 85, 79, 82, 76)
    // 79 and 76 stay above clearMax: still one incident.
    expect(h.events.map((e) => e.state)).toEqual(['raised'])
    expect(h.events[0]).toMatchObject({ rule: 'hot', kind: 'above', severity: 'critical', sensorId: 'temp-01', metric: 'temperature', observed: 81, threshold: 80 })
    h.feed('temp-01', 'temperature', 75)
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared'])
    expect(h.events[1]).toMatchObject({ observed: 75, threshold: 75 })
    h.feed('temp-01', 'temperature', 90)
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared', 'raised'])
  })

  it('does not match other sensors or metrics', () => {
    const h = harness({ hot: { sensor: 'temp-*', metric: 'temperature', max: 80 } })
    h.feed('pump-01', 'temperature', 100)
    h.feed('temp-01', 'humidity', 100)
    expect(h.events).toEqual([])
  })

  it('keeps a new incident within the cooldown silent, and the clear of a silent incident too', () => {
    const h = harness({ hot: { max: 80, cooldownSeconds: 10 } })
    h.feed('s', 'm', 90, 70, 90, 70) // second incident 2 s after the first alert
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared'])
    expect(h.engine.stats.suppressedByCooldown).toBe(1)
    h.advance(10_000)
    h.feed('s', 'm', 90)
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared', 'raised'])
  })

  it('handles below-min with its own clear level, independently per series', () => {
    const h = harness({ cold: { min: 0, clearMin: 2, cooldownSeconds: 0 } })
    h.feed('a', 'm', -1, 1, 3)
    h.feed('b', 'm', -5)
    expect(h.events.map((e) => `${e.sensorId}:${e.state}`)).toEqual(['a:raised', 'a:cleared', 'b:raised'])
  })

  it('computes the rate of change per second between readings, either way', () => {
    const h = harness({ jump: { rateMax: 5, clearRateMax: 1, cooldownSeconds: 0 } })
    h.feed('s', 'm', 10, 12, 4) // 2/s then 8/s
    expect(h.events).toHaveLength(1)
    expect(h.events[0]).toMatchObject({ kind: 'rate', observed: 8, threshold: 5 })
    h.feed('s', 'm', 1, 1.5) // 3/s: still active; 0.5/s clears
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared'])
  })

  it('uses anomaly scores with hysteresis and ignores NaN scores', () => {
    const h = harness({ odd: { scoreMin: 0.9, clearScoreMin: 0.5, cooldownSeconds: 0 } })
    h.engine.onScore('s/m', 's', 'm', 1, Number.NaN)
    h.engine.onScore('s/m', 's', 'm', 2, 0.95)
    h.engine.onScore('s/m', 's', 'm', 3, 0.6)
    h.engine.onScore('s/m', 's', 'm', 4, 0.99)
    expect(h.events.map((e) => e.state)).toEqual(['raised'])
    h.engine.onScore('s/m', 's', 'm', 5, 0.4)
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared'])
    h.feed('s', 'm', 1000) // a score rule ignores values
    expect(h.events).toHaveLength(2)
  })

  it('carries the action of the rule on the raised event', () => {
    const h = harness({ hot: { max: 1, action: { topic: 'cmd/fan', payload: '{"on":true}' } } })
    h.feed('s', 'm', 2)
    expect(h.events[0]?.action).toEqual({ topic: 'cmd/fan', payload: '{"on":true}', qos: 0, retain: false })
  })

  it('ignores disabled rules', () => {
    const h = harness({ hot: { max: 1, enabled: false } })
    h.feed('s', 'm', 2)
    expect(h.events).toEqual([])
  })
})

describe('rules engine: missing data (fake clock)', () => {
  it('raises after missingSeconds of silence and clears with the next reading', () => {
    const h = harness({ silent: { sensor: 'pump-*', missingSeconds: 30, cooldownSeconds: 0 } })
    h.feed('pump-01', 'flow', 5)
    h.advance(29_000)
    h.engine.checkMissing()
    expect(h.events).toEqual([])
    h.advance(1_000)
    h.engine.checkMissing()
    h.engine.checkMissing()
    expect(h.events).toHaveLength(1)
    expect(h.events[0]).toMatchObject({ state: 'raised', kind: 'missing', sensorId: 'pump-01', observed: 30, threshold: 30, value: 5 })
    h.feed('pump-01', 'flow', 6)
    expect(h.events.map((e) => e.state)).toEqual(['raised', 'cleared'])
  })

  it('watches series made known before their first reading', () => {
    const h = harness({ silent: { missingSeconds: 5 } })
    h.engine.knowSeries('a', 'b')
    h.advance(5_000)
    h.engine.checkMissing()
    expect(h.events[0]).toMatchObject({ sensorId: 'a', metric: 'b', kind: 'missing' })
    expect(Number.isNaN(h.events[0]?.value)).toBe(true)
  })

  it('suggests a check interval from the shortest missingSeconds', () => {
    expect(harness({ a: { missingSeconds: 2 } }).engine.missingCheckIntervalMs()).toBe(500)
    expect(harness({ a: { max: 2 } }).engine.missingCheckIntervalMs()).toBeUndefined()
  })
})

describe('rules in the edge config', () => {
  it('are refused at load with RULES_ERR_INVALID naming the rule and field, and need a plain rule name', () => {
    expect(() => rules({ hot: { max: 80, clearMax: 81 } })).toThrow(expect.objectContaining({ code: 'RULES_ERR_INVALID', message: expect.stringContaining('rule "hot": clearMax') }))
    expect(() => rules({ 'a.b': { max: 1 } })).toThrow(expect.objectContaining({ code: 'CONFIG_ERR_UNKNOWN_KEY' }))
    expect(() => rules({ hot: { max: 1, maxx: 2 } })).toThrow(expect.objectContaining({ code: 'CONFIG_ERR_UNKNOWN_KEY', message: expect.stringContaining('rules.hot.maxx') }))
    expect(() => rules({ hot: { max: '80' } })).toThrow(expect.objectContaining({ code: 'CONFIG_ERR_INVALID_VALUE', message: expect.stringContaining('rules.hot.max') }))
    expect(rules({ hot: { max: 80 } }).hot).toMatchObject({ sensor: '*', metric: '*', severity: 'warning', cooldownSeconds: 60, enabled: true })
  })
})

describe('rules engine: live update', () => {
  it('keeps incidents and cooldowns of unchanged rules, resets changed ones', () => {
    const h = harness({ hot: { max: 80, cooldownSeconds: 3600 }, cold: { min: 0, cooldownSeconds: 3600 } })
    h.feed('s', 'm', 90)
    h.feed('t', 'm', -1)
    expect(h.events).toHaveLength(2)
    h.engine.update(rules({ hot: { max: 80, cooldownSeconds: 3600 }, cold: { min: 1, cooldownSeconds: 3600 }, extra: { max: 1000 } }))
    // hot unchanged: incident still open, no second alert; cold changed: fresh state, alerts again.
    h.feed('s', 'm', 95)
    h.feed('t', 'm', -2)
    expect(h.events.map((e) => `${e.rule}:${e.state}`)).toEqual(['hot:raised', 'cold:raised', 'cold:raised'])
    h.feed('s', 'm', 10)
    expect(h.events.at(-1)).toMatchObject({ rule: 'hot', state: 'cleared' })
  })

  it('refuses an inconsistent rule set with RULES_ERR_INVALID and keeps the old one', () => {
    const h = harness({ hot: { max: 80 } })
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ nothing: { sensor: 'x' } }, /has none/],
      [{ r: { max: 10, clearMax: 11 } }, /clearMax/],
      [{ r: { min: 10, clearMin: 9 } }, /clearMin/],
      [{ r: { min: 10, max: 5 } }, /min/],
      [{ r: { scoreMin: 0.5, clearScoreMin: 0.8 } }, /clearScoreMin/],
      [{ r: { rateMax: 1, clearRateMax: 2 } }, /clearRateMax/],
      [{ r: { max: 1, clearMin: 0 } }, /clearMin is set without min/],
    ]
    for (const [config, message] of bad) {
      let error: unknown
      try {
        h.engine.update(rules(config))
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(CloudosError)
      expect((error as CloudosError).code).toBe('RULES_ERR_INVALID')
      expect((error as CloudosError).message).toMatch(message)
    }
    h.feed('s', 'm', 90)
    expect(h.events).toHaveLength(1)
  })
})
