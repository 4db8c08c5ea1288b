import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../shared/package-root.js'

/**
 * The boundary check (`npm run check:layout`, run by .ci/run) fails on a
 * wrong-side import: the fixture breaks each rule once, and the real tree
 * breaks none. Both runs use the project's own .dependency-cruiser.cjs.
 */
const root = packageRoot()
const depcruise = join(root, 'node_modules', '.bin', 'depcruise')
const config = join(root, '.dependency-cruiser.cjs')
const fixture = join(root, 'test', 'layout', 'fixture')
const fixtureFolders = ['edge', 'cloud', 'shared', 'cli', 'models', 'bench', 'test']

interface Violation {
  from: string
  to: string
  rule: { name: string; severity: string }
}

function cruise(cwd: string, args: readonly string[]) {
  const result = spawnSync(depcruise, ['--config', config, ...args], { cwd, encoding: 'utf8', timeout: 60_000 })
  if (result.error !== undefined) throw result.error
  return result
}

/** The folders `npm run check:layout` cruises, read from package.json so this test follows the script. */
function checkLayoutArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const [command, ...args] = (pkg.scripts['check:layout'] ?? '').split(/\s+/)
  expect(command).toBe('depcruise')
  const configAt = args.indexOf('--config')
  expect(configAt).toBeGreaterThanOrEqual(0)
  args.splice(configAt, 2)
  return args
}

describe('layout check (dependency-cruiser walls)', () => {
  it('reports every rule for the fixture file that breaks it', () => {
    const result = cruise(fixture, ['--output-type', 'json', ...fixtureFolders])
    const report = JSON.parse(result.stdout) as { summary: { violations: Violation[] } }
    const found = report.summary.violations.map((v) => `${v.rule.name} ${v.from} -> ${v.to}`).sort()
    expect(found).toEqual(
      [
        'cli-not-to-test cli/reads-test.ts -> test/harness-thing.ts',
        'cloud-not-to-edge cloud/reads-edge.ts -> edge/edge-thing.ts',
        'edge-not-to-cloud edge/reads-hub.ts -> cloud/hub-thing.ts',
        'models-not-to-sides models/reads-edge.ts -> edge/edge-thing.ts',
        'no-cycles shared/cycle-a.ts -> shared/cycle-b.ts',
        'product-not-to-bench-or-test edge/reads-bench.ts -> bench/bench-thing.ts',
        'shared-stays-below-the-sides shared/reads-edge.ts -> edge/edge-thing.ts',
      ].sort(),
    )
    for (const v of report.summary.violations) expect(v.rule.severity).toBe('error')
  })

  it('fails, naming the rule, as npm run check:layout does on a wrong-side import', () => {
    const result = cruise(fixture, fixtureFolders)
    expect(result.status).not.toBe(0)
    expect(result.stdout).toContain('edge-not-to-cloud: edge/reads-hub.ts → cloud/hub-thing.ts')
    expect(result.stdout).toContain('7 dependency violations (7 errors')
  })

  it('finds no violation in the real tree (the command npm run check:layout runs)', () => {
    const result = cruise(root, checkLayoutArgs())
    expect(result.stdout).toContain('no dependency violations found')
    expect(result.status).toBe(0)
  })
})
