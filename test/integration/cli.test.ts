import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, it } from 'vitest'
import { runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

// Each case is a separate short-lived process: run them concurrently.
describe.concurrent('cloudos CLI', () => {
  let tmp: TempDir
  let counter = 0
  /** A fresh path inside the suite's temp dir. */
  const fresh = (name: string) => join(tmp.path, `${counter++}-${name}`)
  beforeAll(() => {
    tmp = makeTempDir('cloudos-cli-')
  })
  afterAll(() => tmp.remove())

  it('--help lists the commands edge, simulate, demo and bench, each with one line of help', async ({ expect }) => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    const commands = result.stdout.slice(result.stdout.indexOf('Commands:'))
    for (const command of ['edge', 'simulate', 'demo', 'bench']) {
      expect(commands).toMatch(new RegExp(`^\\s+${command}\\b.*\\S+\\s+\\S+`, 'm'))
    }
  })

  it('edge --help lists its flags', async ({ expect }) => {
    const result = await runCli(['edge', '--help'])
    expect(result.code).toBe(0)
    for (const flag of ['--data-dir', '--mqtt-port', '--http-port', '--broker', '--config']) expect(result.stdout).toContain(flag)
  })

  it.for<[string, string[], string, string]>([
    ['a port above 65535', ['--mqtt-port', '70000'], '--mqtt-port', '0 to 65535'],
    ['a port that is not a number', ['--http-port', 'eighty'], '--http-port', '0 to 65535'],
    ['a broker URL that is not mqtt', ['--broker', 'http://127.0.0.1:1883'], '--broker', 'mqtt:'],
    ['an unknown flag', ['--mqtt-prot', '1883'], '--mqtt-prot', 'unknown option'],
  ])('edge with %s exits non-zero naming the flag and what is allowed', async ([_name, flags, flag, allowed], { expect }) => {
    const result = await runCli(['edge', '--data-dir', fresh('data'), ...flags])
    expect(result.code).not.toBe(0)
    expect(result.code).not.toBeNull()
    expect(result.stderr).toContain(flag)
    expect(result.stderr).toContain(allowed)
    expect(result.stdout).not.toContain('edge.ready')
  })

  it('edge without --data-dir exits non-zero naming the flag', async ({ expect }) => {
    const result = await runCli(['edge', '--mqtt-port', '0'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('--data-dir')
  })

  it('edge --broker with an unreachable broker exits 2 with EDGE_ERR_BROKER_UNREACHABLE, not a stack trace', async ({ expect }) => {
    // Port 1 on loopback refuses connections.
    const result = await runCli(['edge', '--data-dir', fresh('data'), '--http-port', '0', '--broker', 'mqtt://127.0.0.1:1'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('EDGE_ERR_BROKER_UNREACHABLE')
    expect(result.stderr).toContain('mqtt://127.0.0.1:1')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })

  describe('edge --config with a bad file exits 2 with the error code, the key and what is allowed', () => {
    const cases: [string, string, string[]][] = [
      ['an unknown key', JSON.stringify({ ingest: { maxPayload: 10 } }), ['CONFIG_ERR_UNKNOWN_KEY', 'ingest.maxPayload', 'maxPayloadBytes']],
      ['a wrong type', JSON.stringify({ storage: { retentionDays: 'forever' } }), ['CONFIG_ERR_INVALID_VALUE', 'storage.retentionDays', 'must be a number']],
      ['bad JSON', '{ "mqtt": ', ['CONFIG_ERR_PARSE', 'edge.json']],
      ['a bad cron expression', JSON.stringify({ storage: { retentionSchedule: 'hourly' } }), ['CONFIG_ERR_INVALID_VALUE', 'storage.retentionSchedule', 'cron']],
    ]
    it.for(cases)('%s', async ([_name, content, mentions], { expect }) => {
      const file = fresh('edge.json')
      writeFileSync(file, content)
      const result = await runCli(['edge', '--data-dir', fresh('data'), '--mqtt-port', '0', '--http-port', '0', '--config', file])
      expect(result.code).toBe(2)
      for (const m of mentions) expect(result.stderr).toContain(m)
      expect(result.stderr).toContain('hint:')
      expect(result.stdout).not.toContain('edge.ready')
    })

    it('an unreadable (missing) file', async ({ expect }) => {
      const result = await runCli(['edge', '--data-dir', fresh('data'), '--mqtt-port', '0', '--http-port', '0', '--config', fresh('missing.json')])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('CONFIG_ERR_UNREADABLE')
      expect(result.stderr).toContain('missing.json')
    })
  })
})
