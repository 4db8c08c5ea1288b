import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { describeExpectation, validateConfig } from '../../shared/config/validate.js'
import { CloudosError, type ErrorCode } from '../../shared/errors.js'
import { useTempDir } from '../helpers/temp-dir.js'

function caught(fn: () => unknown): CloudosError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CloudosError)
    return err as CloudosError
  }
  throw new Error('expected an error, none was thrown')
}

function expectConfigError(fn: () => unknown, code: ErrorCode, ...mentions: string[]): CloudosError {
  const err = caught(fn)
  expect(err.code).toBe(code)
  for (const m of mentions) expect(err.message).toContain(m)
  return err
}

function writeConfig(dir: string, name: string, content: string): string {
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

describe('edge config: defaults and valid files', () => {
  it('fills every default from the schema when there is no file', () => {
    const config = loadEdgeConfig(undefined)
    expect(config.mqtt).toMatchObject({ host: '127.0.0.1', port: 1883, clientId: 'cloudos-edge' })
    expect(config.mqtt.brokerUrl).toBeUndefined()
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8081 })
    expect(config.ingest.maxPayloadBytes).toBe(64 * 1024)
    expect(config.storage).toMatchObject({ synchronous: 'full', retentionSchedule: '* * * * *', commitIntervalMs: 5 })
  })

  it('returns a deeply frozen config', () => {
    const config = loadEdgeConfig(undefined)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.storage)).toBe(true)
    expect(() => {
      ;(config.storage as { maxBytes: number }).maxBytes = 1
    }).toThrow(TypeError)
  })

  it('reads a partial file, keeps the defaults of the rest, and lets flags override the file', () => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', JSON.stringify({ mqtt: { port: 1999, host: '127.0.0.1' }, storage: { retentionDays: 7, retentionSchedule: '*/10 * * * * *' } }))
    const config = loadEdgeConfig(file, { mqtt: { port: 2000, host: undefined }, http: { port: undefined } })
    expect(config.mqtt.port).toBe(2000)
    expect(config.mqtt.host).toBe('127.0.0.1')
    expect(config.http.port).toBe(8081)
    expect(config.storage.retentionDays).toBe(7)
    expect(config.storage.retentionSchedule).toBe('*/10 * * * * *')
    expect(config.storage.maxBytes).toBe(256 * 1024 * 1024)
  })

  it('does not modify the input object', () => {
    const input = { storage: { retentionDays: 3 } }
    validateConfig(EdgeConfigSchema, input, 'test')
    expect(input).toEqual({ storage: { retentionDays: 3 } })
  })
})

describe('edge config: errors name the key and what is allowed', () => {
  it('unknown top-level key', () => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', JSON.stringify({ mqtt: {}, storrage: {} }))
    const sections = Object.keys(EdgeConfigSchema.properties)
    expect(sections).toEqual(expect.arrayContaining(['mqtt', 'http', 'ingest', 'storage']))
    const err = expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_UNKNOWN_KEY', '"storrage"', file, sections.join(', '))
    expect(err.details).toMatchObject({ key: 'storrage', allowed: sections })
  })

  it('unknown nested key, as a dotted path with the section\'s allowed keys', () => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', JSON.stringify({ mqtt: { prot: 1883 } }))
    const err = expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_UNKNOWN_KEY', '"mqtt.prot"', 'host', 'port', 'brokerUrl', 'clientId')
    expect(err.details).toMatchObject({ key: 'mqtt.prot' })
  })

  it.each([
    ['a string for an integer', { mqtt: { port: '1883' } }, 'mqtt.port', 'must be an integer'],
    ['a port out of range', { mqtt: { port: 70000 } }, 'mqtt.port', '<= 65535'],
    ['a fractional integer', { ingest: { maxPayloadBytes: 1000.5 } }, 'ingest.maxPayloadBytes', 'must be an integer'],
    ['a payload limit below the minimum', { ingest: { maxPayloadBytes: 10 } }, 'ingest.maxPayloadBytes', '>= 64'],
    ['a negative retention', { storage: { retentionDays: -1 } }, 'storage.retentionDays', '>= 0'],
    ['a value outside an enumeration', { storage: { synchronous: 'off' } }, 'storage.synchronous', '"normal", "full"'],
    ['a broker URL of the wrong scheme', { mqtt: { brokerUrl: 'http://x' } }, 'mqtt.brokerUrl', 'matching ^mqtts?://'],
    ['a section that is not an object', { storage: 5 }, 'storage', 'must be an object'],
    ['an empty string', { http: { host: '' } }, 'http.host', 'at least 1 characters'],
  ])('wrong type or range: %s', (_name, content, key, allowed) => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', JSON.stringify(content))
    const err = expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_INVALID_VALUE', `"${key}"`, allowed)
    expect(err.details).toMatchObject({ key })
  })

  it('a top level that is not an object', () => {
    const dir = useTempDir()
    for (const content of ['[]', '42', 'null', '"edge"']) {
      const file = writeConfig(dir, 'edge.json', content)
      expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_INVALID_VALUE', 'top level must be a JSON object')
    }
  })

  it('bad JSON names the file and the parser\'s position', () => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', '{"mqtt": {"port": 1883,}}')
    expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_PARSE', file, 'position')
  })

  it('a missing file is unreadable, naming the path', () => {
    const dir = useTempDir()
    const file = join(dir, 'nope.json')
    const err = expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_UNREADABLE', file, 'ENOENT')
    expect(err.details).toEqual({ file })
  })

  it('a directory is unreadable', () => {
    const dir = useTempDir()
    mkdirSync(join(dir, 'conf.d'))
    expectConfigError(() => loadEdgeConfig(join(dir, 'conf.d')), 'CONFIG_ERR_UNREADABLE', 'EISDIR')
  })

  it.each(['every minute', '* * *', '61 * * * *', '* * * * * * *', '*/0 * * * *'])('a bad cron expression %j names storage.retentionSchedule', (schedule) => {
    const dir = useTempDir()
    const file = writeConfig(dir, 'edge.json', JSON.stringify({ storage: { retentionSchedule: schedule } }))
    const err = expectConfigError(() => loadEdgeConfig(file), 'CONFIG_ERR_INVALID_VALUE', '"storage.retentionSchedule"', 'cron expression')
    expect(err.details).toMatchObject({ key: 'storage.retentionSchedule', got: schedule })
  })

  it('accepts 5-field and 6-field (seconds) cron expressions', () => {
    expect(loadEdgeConfig(undefined, { storage: { retentionSchedule: '*/5 * * * *' } }).storage.retentionSchedule).toBe('*/5 * * * *')
    expect(loadEdgeConfig(undefined, { storage: { retentionSchedule: '* * * * * *' } }).storage.retentionSchedule).toBe('* * * * * *')
  })

  it('invalid CLI overrides are named like file keys', () => {
    expectConfigError(() => loadEdgeConfig(undefined, { mqtt: { port: 70000 } }), 'CONFIG_ERR_INVALID_VALUE', '"mqtt.port"', 'edge config')
  })

  it('serialises as {code, message, hint, details} for APIs and the CLI', () => {
    const err = caught(() => loadEdgeConfig(undefined, { http: { port: -1 } }))
    const json = err.toJSON()
    expect(json.code).toBe('CONFIG_ERR_INVALID_VALUE')
    expect(json.hint.length).toBeGreaterThan(0)
    expect(json.details).toMatchObject({ key: 'http.port', got: -1 })
  })
})

describe('describeExpectation', () => {
  it('describes types, ranges, lengths, patterns and literal unions', () => {
    expect(describeExpectation(Type.Integer({ minimum: 1, maximum: 9 }))).toBe('must be an integer >= 1 and <= 9')
    expect(describeExpectation(Type.Number())).toBe('must be a number')
    expect(describeExpectation(Type.String({ minLength: 2, pattern: '^a' }))).toBe('must be a string at least 2 characters and matching ^a')
    expect(describeExpectation(Type.Boolean())).toBe('must be a boolean')
    expect(describeExpectation(Type.Union([Type.Literal('a'), Type.Literal(2)]))).toBe('must be one of "a", 2')
  })
})
