import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CloudosError, errorCatalogue, type ErrorCode } from '../../shared/errors.js'
import { rejectReasons } from '../../shared/telemetry.js'

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (.*?) \| (.*?) \|$/gm)].map((m) => [m[1] as string, { status: Number(m[2]), summary: m[3], hint: m[4] }]),
)

describe('error catalogue', () => {
  it('is documented in docs/errors.md, entry for entry', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(errorCatalogue).sort())
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect(documented.get(code), code).toEqual({ status: spec.status, summary: spec.summary, hint: spec.hint })
    }
  })

  it('names codes by area with a stable prefix', () => {
    for (const code of Object.keys(errorCatalogue)) expect(code).toMatch(/^(EDGE|CONFIG|CLI|STORE|API|SIM|BENCH|HUB|MODEL|DETECT|NAB|RULES|INFERENCE)_ERR_[A-Z_]+$/)
  })

  it('has an EDGE_ERR code for every dead-letter reason, named after it', () => {
    for (const [reason, code] of Object.entries(rejectReasons)) {
      expect(errorCatalogue).toHaveProperty(code)
      expect(code).toBe(`EDGE_ERR_${reason.toUpperCase()}`)
    }
  })

  it('serialises to the HTTP error body', () => {
    const err = new CloudosError('API_ERR_INVALID_QUERY' satisfies ErrorCode, 'bad "limit"', { key: 'limit' })
    expect(err.toJSON()).toEqual({ code: 'API_ERR_INVALID_QUERY', message: 'bad "limit"', hint: errorCatalogue.API_ERR_INVALID_QUERY.hint, details: { key: 'limit' } })
    expect(err.status).toBe(400)
  })
})
