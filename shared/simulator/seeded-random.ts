/**
 * A small seeded pseudo-random generator for the simulator.
 *
 * Why no library: the simulator needs reproducible streams (`--seed`), not
 * cryptographic quality, and mulberry32 is a dozen lines with a published,
 * stable output sequence. A dependency could change its algorithm in a minor
 * release and silently change every seeded run.
 */

export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number
  /** Standard normal (mean 0, standard deviation 1). */
  gaussian(): number
  /** Uniform in [min, max). */
  between(min: number, max: number): number
}

/** mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0
  let spareGaussian: number | undefined
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    gaussian() {
      // Box-Muller yields two independent normals per pair of uniforms; keep the second.
      if (spareGaussian !== undefined) {
        const spare = spareGaussian
        spareGaussian = undefined
        return spare
      }
      const u = 1 - next() // (0, 1]: log(0) would be -Infinity
      const v = next()
      const radius = Math.sqrt(-2 * Math.log(u))
      spareGaussian = radius * Math.sin(2 * Math.PI * v)
      return radius * Math.cos(2 * Math.PI * v)
    },
  }
}

/**
 * Derives an independent seed for a sub-stream (one per sensor), so adding a
 * sensor does not shift the random numbers of the others. FNV-1a style mixing.
 */
export function deriveSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
