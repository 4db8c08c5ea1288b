import { NabError } from './nab-error.js'

/** The weights of one NAB application profile (profiles.json, "CostMatrix"). */
export interface CostMatrix {
  tpWeight: number
  fpWeight: number
  fnWeight: number
  /** Present in NAB's profiles but unused by its scoring: a true negative earns nothing. */
  tnWeight: number
}

export type NabProfiles = Readonly<Record<string, CostMatrix>>

/** The three profiles NAB ships, used when a corpus has no profiles.json. */
export const NAB_DEFAULT_PROFILES: NabProfiles = Object.freeze({
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1, tnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2, tnWeight: 1 },
})

const WEIGHTS = ['tpWeight', 'fpWeight', 'fnWeight', 'tnWeight'] as const

/**
 * Parses NAB's profiles.json: `{"<name>": {"CostMatrix": {"tpWeight": .., "fpWeight": .., "fnWeight": .., "tnWeight": ..}}}`.
 * Weights must be finite and non-negative (a cost is subtracted, never given as a negative weight).
 */
export function parseProfiles(text: string, source: string): NabProfiles {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new NabError('NAB_ERR_PROFILES', `${source}: not valid JSON (${(err as Error).message})`, { file: source })
  }
  if (!isRecord(json) || Object.keys(json).length === 0) {
    throw new NabError('NAB_ERR_PROFILES', `${source}: expected an object of profiles such as {"standard": {"CostMatrix": {...}}}`, { file: source })
  }
  const profiles: Record<string, CostMatrix> = {}
  for (const [name, entry] of Object.entries(json)) {
    const matrix = isRecord(entry) ? entry['CostMatrix'] : undefined
    if (!isRecord(matrix)) {
      throw new NabError('NAB_ERR_PROFILES', `${source}: profile "${name}" has no "CostMatrix" object`, { file: source, profile: name })
    }
    const weights: Partial<CostMatrix> = {}
    for (const key of WEIGHTS) {
      const value = matrix[key]
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new NabError('NAB_ERR_PROFILES', `${source}: profile "${name}": CostMatrix.${key} must be a non-negative number (got ${JSON.stringify(value)})`, {
          file: source,
          profile: name,
          key,
        })
      }
      weights[key] = value
    }
    profiles[name] = weights as CostMatrix
  }
  return Object.freeze(profiles)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
