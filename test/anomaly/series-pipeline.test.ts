import { describe, expect, it } from 'vitest'
import { AnomalyLikelihood, DEFAULT_LIKELIHOOD, normalTail } from '../../edge/anomaly/anomaly-likelihood.js'
import { RunningMean, RunningMoments } from '../../edge/anomaly/running-mean.js'
import { SeriesState } from '../../edge/anomaly/series-state.js'
import { DEFAULT_NORMALISATION, SeriesWindow } from '../../edge/anomaly/series-window.js'

const pipeline = { window: 4, normalisation: DEFAULT_NORMALISATION, likelihood: DEFAULT_LIKELIHOOD, gapResetFactor: 10 }

function windowOf(state: SeriesWindow): number[] {
  const out = new Float32Array(state.size)
  state.writeNormalised(out, 0)
  return [...out]
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
    for (const x of [10, 12, 14]) w.push(x)
    expect(w.ready).toBe(false)
    w.push(16)
    expect(w.ready).toBe(true)
    const frame = w.frame()
    expect(frame.centre).toBeCloseTo(13, 12)
    // Scale: sqrt of the mean window variance so far (one window: variance of 10,12,14,16 = 5).
    expect(frame.scale).toBeCloseTo(Math.sqrt(5), 12)
    expect(windowOf(w).map((x) => Math.round(x * 1e5) / 1e5)).toEqual([-3, -1, 1, 3].map((d) => Math.round((d / Math.sqrt(5)) * 1e5) / 1e5))
    w.push(18) // the window slides: 12 14 16 18
    expect(w.frame().centre).toBeCloseTo(15, 12)
    expect(w.normalise(15 + frame.scale, { centre: 15, scale: frame.scale })).toBeCloseTo(1, 12)
  })

  it('keeps a flat series finite: the scale floors at a fraction of its magnitude, values are clipped', () => {
    const w = new SeriesWindow(4)
    for (let k = 0; k < 10; k++) w.push(50)
    const frame = w.frame()
    expect(frame.scale).toBeCloseTo(50 * DEFAULT_NORMALISATION.relativeScaleFloor, 9)
    expect(w.normalise(1e9, frame)).toBe(DEFAULT_NORMALISATION.clip)
    expect(w.normalise(-1e9, frame)).toBe(-DEFAULT_NORMALISATION.clip)
    const zeros = new SeriesWindow(4)
    for (let k = 0; k < 4; k++) zeros.push(0)
    expect(zeros.frame().scale).toBe(DEFAULT_NORMALISATION.absoluteScaleFloor)
    expect(windowOf(zeros)).toEqual([0, 0, 0, 0])
  })

  it('restart empties the window but keeps the learnt scale', () => {
    const w = new SeriesWindow(4)
    for (const x of [0, 2, 0, 2, 0, 2]) w.push(x)
    const scale = w.frame().scale
    w.restart()
    expect(w.ready).toBe(false)
    for (const x of [100, 100, 100, 100]) w.push(x)
    // The new flat window's zero variance enters the running average (horizon 2000), so the scale only shrinks a little.
    expect(w.frame().scale).toBeGreaterThan(scale * 0.8)
    expect(windowOf(w)).toEqual([0, 0, 0, 0])
  })
})

describe('SeriesState stream rules', () => {
  it('refuses NaN, infinities and out-of-order readings without touching the window', () => {
    const state = new SeriesState(pipeline)
    for (let t = 0; t < 4; t++) {
      expect(state.admit(t * 1000, t)).toBe('accepted')
      state.window.push(t)
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
      state.window.push(t)
    }
    // 9 intervals of silence: still the same stream.
    expect(state.admit((t + 8) * 1000, 0)).toBe('accepted')
    expect(state.window.ready).toBe(true)
    state.window.push(0)
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

  it('scores 0 while learning, low for usual errors, high for a burst of large errors, then damps repeats', () => {
    const settings = { ...DEFAULT_LIKELIHOOD, learningPeriod: 50, suppressionPeriod: 20, suppressionFactor: 0.5 }
    const likelihood = new AnomalyLikelihood(settings)
    const usual = (k: number) => 0.1 * Math.sin(k * 1.7) + 0.05 * Math.cos(k * 0.3)
    for (let k = 0; k < 50; k++) expect(likelihood.score(usual(k))).toBe(0)
    const usualScores = Array.from({ length: 200 }, (_, k) => likelihood.score(usual(k + 50)))
    expect(Math.max(...usualScores)).toBeLessThan(settings.detectionLevel)
    const burst = [3, 3, 3].map((e) => likelihood.score(e))
    expect(Math.max(...burst)).toBeGreaterThanOrEqual(settings.detectionLevel)
    const firstDetection = burst.findIndex((s) => s >= settings.detectionLevel)
    // Right after a detection the same incident scores at most half its raw value.
    const repeats = [3, 3, 3].map((e) => likelihood.score(e))
    expect(Math.max(...repeats)).toBeLessThanOrEqual(settings.suppressionFactor + 1e-12)
    expect(firstDetection).toBeGreaterThanOrEqual(0)
  })
})
