/**
 * A running mean that is the plain average over the first `horizon` samples
 * and an exponentially weighted average (weight 1/horizon) after that: it
 * settles fast on a new series, then follows slow changes of level without
 * keeping a history.
 */
export class RunningMean {
  readonly horizon: number
  #count = 0
  #mean = 0

  constructor(horizon: number) {
    this.horizon = horizon
  }

  get count(): number {
    return this.#count
  }

  get mean(): number {
    return this.#mean
  }

  update(x: number): void {
    this.#count++
    this.#mean += (x - this.#mean) / Math.min(this.#count, this.horizon)
  }
}

/** Running mean and variance with the same weighting as {@link RunningMean}. */
export class RunningMoments {
  readonly horizon: number
  #count = 0
  #mean = 0
  #variance = 0

  constructor(horizon: number) {
    this.horizon = horizon
  }

  get count(): number {
    return this.#count
  }

  get mean(): number {
    return this.#mean
  }

  get variance(): number {
    return this.#variance
  }

  get standardDeviation(): number {
    return Math.sqrt(this.#variance)
  }

  update(x: number): void {
    this.#count++
    const weight = 1 / Math.min(this.#count, this.horizon)
    const delta = x - this.#mean
    this.#mean += weight * delta
    // West's weighted update: exact for the plain average, the usual EW variance after.
    this.#variance = (1 - weight) * (this.#variance + weight * delta * delta)
  }
}
