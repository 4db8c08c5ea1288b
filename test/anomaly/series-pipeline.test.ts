import { describe, expect, it } from 'vitest'
import { AnomalyLikelihood, DEFAULT_LIKELIHOOD, normalTail, RecurrenceMemory, RepeatDamper, SpatialRange } from '../../shared/anomaly/anomaly-likelihood.js'
import { RunningMean, RunningMoments } from '../../shared/anomaly/running-mean.js'
import { SeriesState } from '../../shared/anomaly/series-state.js'
import { DEFAULT_NORMALISATION, SeriesWindow } from '../../shared/anomaly/series-window.js'

const pipeline = { window: 4, normalisation: DEFAULT_NORMALISATION, likelihood: DEFAULT_LIKELIHOOD, gapResetFactor: 10 }

function windowOf(state: SeriesWindow): number[] {
  const out = new Float32Array(state.width)
  state.writeNormalised(out, 0, 0)
  return [...out]
}

/** Pushes values one minute apart. */
function pushAll(w: SeriesWindow, values: number[], from = 0): void {
  values.forEach((v, k) => w.push((from + k) * 60_000, v))
}

describe('running statistics', () => {
  it('is the plain mean and variance until the horizon, then exponentially weighted', () => {
    const moments = new RunningMoments(100)
    for (const x of [1, 2, 3, 4]) moments.update(x)
    expect(moments.mean).toBeCloseTo(2.5, 12)
    expect(moments.variance).toBeCloseTo(1.25, 12) // population variance of 1..4
    const mean = new RunningMean(2)
    for (const x of [0, 10, 10, 10]) mean.update(x)
    // 0, then (0+10)/2 = 5, then 5 + (10-5)/2 = 7.5, then 8.75
    expect(mean.mean).toBeCloseTo(8.75, 12)
  })
})

describe('SeriesWindow', () => {
  it('becomes ready after `size` values and presents them oldest first, centred and scaled', () => {
    const w = new SeriesWindow(4, { ...DEFAULT_NORMALISATION, scaleHorizon: 1000 })
    pushAll(w, [10, 12, 14])
    expect(w.ready).toBe(false)
    w.push(3 * 60_000, 16)
    expect(w.ready).toBe(true)
    const frame = w.frame()
    expect(frame.centre).toBeCloseTo(13, 12)
    // Scale: sqrt of the mean window variance so far (one window: variance of 10,12,14,16 = 5).
    expect(frame.scale).toBeCloseTo(Math.sqrt(5), 12)
    expect(windowOf(w).map((x) => Math.round(x * 1e5) / 1e5)).toEqual([-3, -1, 1, 3].map((d) => Math.round((d / Math.sqrt(5)) * 1e5) / 1e5))
    w.push(4 * 60_000, 18) // the window slides: 12 14 16 18
    expect(w.frame().centre).toBeCloseTo(15, 12)
    expect(w.normalise(15 + frame.scale, { centre: 15, scale: frame.scale, typicalTarget: Number.NaN })).toBeCloseTo(1, 12)
  })

  it('keeps a flat series finite: the scale floors at a fraction of its magnitude, values are clipped', () => {
    const w = new SeriesWindow(4, DEFAULT_NORMALISATION)
    pushAll(w, new Array<number>(10).fill(50))
    const frame = w.frame()
    expect(frame.scale).toBeCloseTo(50 * DEFAULT_NORMALISATION.relativeScaleFloor, 9)
    expect(w.normalise(1e9, frame)).toBe(DEFAULT_NORMALISATION.clip)
    expect(w.normalise(-1e9, frame)).toBe(-DEFAULT_NORMALISATION.clip)
    const zeros = new SeriesWindow(4, DEFAULT_NORMALISATION)
    pushAll(zeros, [0, 0, 0, 0])
    expect(zeros.frame().scale).toBe(DEFAULT_NORMALISATION.absoluteScaleFloor)
    expect(windowOf(zeros)).toEqual([0, 0, 0, 0])
  })

  it('restart empties the window but keeps the learnt scale', () => {
    const w = new SeriesWindow(4, DEFAULT_NORMALISATION)
    pushAll(w, [0, 2, 0, 2, 0, 2])
    const scale = w.frame().scale
    w.restart()
    expect(w.ready).toBe(false)
    pushAll(w, [100, 100, 100, 100], 10)
    // The new flat window's zero variance enters the running average (horizon 2000), so the scale only shrinks a little.
    expect(w.frame().scale).toBeGreaterThan(scale * 0.8)
    expect(windowOf(w)).toEqual([0, 0, 0, 0])
  })
})

describe('seasonal context', () => {
  const HOUR = 3_600_000
  const seasonal = { periodMs: 24 * HOUR, bins: 24, smoothing: 1 }

  it('adds what the series read at the same time on earlier days, from readings that left the window', () => {
    const w = new SeriesWindow(3, DEFAULT_NORMALISATION, seasonal)
    expect(w.width).toBe(2 * 3 + 2)
    // Hourly readings: the value is the hour of day, so yesterday's profile equals today's values.
    const hourly = (h: number) => h % 24
    for (let h = 0; h < 20; h++) w.push(h * HOUR, hourly(h))
    // Less than a day seen: no context, flag 0.
    const early = new Float32Array(w.width)
    w.writeNormalised(early, 0, 20 * HOUR)
    expect([...early.slice(3)]).toEqual([0, 0, 0, 0, 0])
    for (let h = 20; h < 30; h++) w.push(h * HOUR, hourly(h))
    // Window holds hours 27, 28, 29 (values 3, 4, 5); the target is hour 30 (value 6).
    const row = new Float32Array(w.width)
    const frame = w.writeNormalised(row, 0, 30 * HOUR)
    expect(frame.centre).toBeCloseTo(4, 12)
    const expected = [3, 4, 5, 6].map((v) => (v - frame.centre) / frame.scale)
    expect([...row.slice(0, 3)].map((x) => Number(x.toFixed(4)))).toEqual(expected.slice(0, 3).map((x) => Number(Math.fround(x).toFixed(4))))
    expect([...row.slice(3, 7)].map((x) => Number(x.toFixed(4)))).toEqual(expected.map((x) => Number(Math.fround(x).toFixed(4))))
    expect(row[7]).toBe(1)
  })

  it('says "no context" while a slot of the window or target has never been seen', () => {
    const w = new SeriesWindow(2, DEFAULT_NORMALISATION, seasonal)
    // Two days of readings, but only in the first 12 hours of each day.
    for (let day = 0; day < 2; day++) for (let h = 0; h < 12; h++) w.push((day * 24 + h) * HOUR, h)
    const row = new Float32Array(w.width)
    w.writeNormalised(row, 0, (2 * 24 + 13) * HOUR)
    expect(row[row.length - 1]).toBe(0)
    expect([...row.slice(2)].every((x) => x === 0)).toBe(true)
  })
})

describe('SeriesState stream rules', () => {
  it('refuses NaN, infinities and out-of-order readings without touching the window', () => {
    const state = new SeriesState(pipeline)
    for (let t = 0; t < 4; t++) {
      expect(state.admit(t * 1000, t)).toBe('accepted')
      state.window.push(t * 1000, t)
    }
    const before = windowOf(state.window)
    expect(state.admit(4000, Number.NaN)).toBe('not-finite')
    expect(state.admit(4000, Number.POSITIVE_INFINITY)).toBe('not-finite')
    expect(state.admit(4000, Number.NEGATIVE_INFINITY)).toBe('not-finite')
    expect(state.admit(Number.NaN, 1)).toBe('not-finite')
    expect(state.admit(2500, 1)).toBe('out-of-order')
    expect(windowOf(state.window)).toEqual(before)
    expect(state.window.ready).toBe(true)
  })

  it('restarts the window after a gap longer than gapResetFactor typical intervals, not before', () => {
    const state = new SeriesState(pipeline)
    let t = 0
    for (; t < 20; t++) {
      state.admit(t * 1000, t)
      state.window.push(t * 1000, t)
    }
    // 9 intervals of silence: still the same stream.
    expect(state.admit((t + 8) * 1000, 0)).toBe('accepted')
    expect(state.window.ready).toBe(true)
    state.window.push((t + 8) * 1000, 0)
    // Then 30 s of silence after a typical 1-2 s spacing: the window starts over.
    expect(state.admit((t + 40) * 1000, 0)).toBe('accepted')
    expect(state.window.ready).toBe(false)
  })
})

describe('AnomalyLikelihood', () => {
  it('computes the normal tail', () => {
    expect(normalTail(0)).toBeCloseTo(0.5, 7)
    expect(normalTail(1.959964)).toBeCloseTo(0.025, 6)
    expect(normalTail(-1.959964)).toBeCloseTo(0.975, 6)
    expect(normalTail(5)).toBeCloseTo(2.8665e-7, 9)
  })

  it('scores 0 while learning, low for usual errors, high for a burst of large errors', () => {
    const settings = { ...DEFAULT_LIKELIHOOD, learningPeriod: 50 }
    const likelihood = new AnomalyLikelihood(settings)
    const usual = (k: number) => 0.1 * Math.sin(k * 1.7) + 0.05 * Math.cos(k * 0.3)
    for (let k = 0; k < 50; k++) expect(likelihood.score(usual(k))).toBe(0)
    const usualScores = Array.from({ length: 200 }, (_, k) => likelihood.score(usual(k + 50)))
    expect(Math.max(...usualScores)).toBeLessThan(settings.detectionLevel)
    const burst = [3, 3, 3].map((e) => likelihood.score(e))
    expect(Math.max(...burst)).toBeGreaterThanOrEqual(settings.detectionLevel)
    for (const s of [...usualScores, ...burst]) {
      expect(s).toBeGreaterThanOrEqual(0)
      expect(s).toBeLessThanOrEqual(1)
    }
  })

  it('damps the scores that follow a detection for suppressionPeriod readings, then lets them through', () => {
    const damper = new RepeatDamper({ ...DEFAULT_LIKELIHOOD, detectionLevel: 0.5, suppressionPeriod: 3, suppressionFactor: 0.2 })
    expect(damper.damp(0.4)).toBe(0.4)
    expect(damper.damp(0.9)).toBe(0.9) // a detection
    expect([0.9, 0.6, 0.1].map((s) => damper.damp(s)).map((s) => Number(s.toFixed(6)))).toEqual([0.18, 0.12, 0.02])
    expect(damper.damp(0.8)).toBe(0.8) // the period is over: a new detection
    expect(Number(damper.damp(0.8).toFixed(6))).toBe(0.16)
  })

  it('with outlierClip, an incident does not inflate the error history: a second incident scores as high as the first', () => {
    const usual = (k: number) => 0.1 + 0.02 * Math.sin(k * 1.7)
    const run = (outlierClip: number) => {
      const likelihood = new AnomalyLikelihood({ ...DEFAULT_LIKELIHOOD, learningPeriod: 50, shortWindow: 1, outlierClip })
      for (let k = 0; k < 300; k++) likelihood.score(usual(k))
      const first = Math.max(...Array.from({ length: 30 }, () => likelihood.score(2)))
      for (let k = 0; k < 20; k++) likelihood.score(usual(k))
      const second = likelihood.score(2)
      return { first, second }
    }
    const clipped = run(2.5)
    const unclipped = run(0)
    expect(clipped.first).toBe(1)
    expect(clipped.second).toBe(1)
    expect(unclipped.second).toBeLessThan(clipped.second)
  })
})

describe('SpatialRange', () => {
  it('scores 1 only beyond the range so far by more than the margin, after the warm-up', () => {
    const range = new SpatialRange(0.1, 3)
    expect([10, 20, 100].map((v) => range.check(v))).toEqual([0, 0, 0]) // warm-up: the range is now 10..100
    expect(range.check(105)).toBe(0) // within the 10% margin (9)
    expect(range.check(115)).toBe(1) // beyond 100 + 0.1 x 90; the range becomes 10..115
    expect(range.check(115)).toBe(0) // the new level is known now
    expect(range.check(0)).toBe(0) // 10 - 0.1 x 105 = -0.5: within
    expect(range.check(-20)).toBe(1)
  })

  it('is off with a margin of 0', () => {
    const range = new SpatialRange(0, 0)
    expect([1, 1000, -1000].map((v) => range.check(v))).toEqual([0, 0, 0])
  })
})

describe('RecurrenceMemory', () => {
  it('recalls the highest score near this slot from earlier visits, decayed per visit', () => {
    const memory = new RecurrenceMemory(10, 1, 0.5)
    expect(memory.recall(4, 0.8)).toBe(0) // nothing remembered yet; slot 4 now holds 0.8
    expect(memory.recall(5, 0.1)).toBe(0.8) // slot 4 is a neighbour
    expect(memory.recall(7, 0.1)).toBe(0) // slots 6..8: nothing high
    expect(memory.recall(4, 0)).toBe(0.8) // its own slot; decays to 0.4 at this visit
    expect(memory.recall(4, 0)).toBe(0.4)
  })

  it('wraps around the cycle', () => {
    const memory = new RecurrenceMemory(10, 2, 1)
    memory.recall(9, 0.7)
    expect(memory.recall(0, 0)).toBe(0.7)
    expect(memory.recall(1, 0)).toBe(0.7)
    expect(memory.recall(2, 0)).toBe(0)
  })
})

describe('SeriesState post-processing', () => {
  const seasonal = { periodMs: 1000, bins: 10, smoothing: 0.5 }
  const settings = { ...DEFAULT_LIKELIHOOD, learningPeriod: 20, shortWindow: 1, suppressionPeriod: 5, spatialWarmup: 5 }

  it('damps a surprise that recurs at the same time of day, but not the first one', () => {
    const state = new SeriesState({ ...pipeline, likelihood: settings, seasonal })
    const usual = (k: number) => 0.1 + 0.02 * Math.sin(k * 1.7)
    // Readings every 100 ms: 10 per cycle; a large error each cycle in slot 3, from the 5th cycle on.
    const scores: number[] = []
    for (let k = 0; k < 100; k++) {
      const ts = k * 100
      const error = k >= 40 && k % 10 === 3 ? 5 : usual(k)
      scores.push(state.score(error, Number.NaN, ts, 0))
    }
    expect(scores[43]).toBeGreaterThanOrEqual(settings.detectionLevel) // first time: an incident
    for (const k of [53, 63, 73, 83, 93]) expect(scores[k]).toBeLessThan(settings.detectionLevel) // recurring: damped
  })

  it('raises the score to the spatial score, then damps repeats', () => {
    const state = new SeriesState({ ...pipeline, likelihood: settings })
    for (let k = 0; k < 30; k++) state.score(0.1, Number.NaN)
    expect(state.score(0.1, Number.NaN, Number.NaN, 1)).toBe(1)
    expect(state.score(0.1, Number.NaN, Number.NaN, 1)).toBeLessThan(settings.detectionLevel)
  })

  it('with longWindow, a moderate sustained rise in the errors scores higher than with the short average alone', () => {
    const noise = (k: number) => Math.abs(Math.sin(k * 12.9898) * 43758.5453 % 1)
    const run = (longWindow: number) => {
      const state = new SeriesState({ ...pipeline, likelihood: { ...settings, shortWindow: 4, longWindow, recurrenceBins: 0, spatialMargin: 0 } })
      for (let k = 0; k < 500; k++) state.score(noise(k), Number.NaN)
      return Math.max(...Array.from({ length: 40 }, (_, k) => state.score(noise(k + 500) + 0.4, Number.NaN)))
    }
    expect(run(24)).toBeGreaterThan(run(0))
  })
})
