import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { integerFlag, numberFlag, portFlag, urlFlag } from '../../cli/flags.js'

function rejection(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError)
    return (err as Error).message
  }
  throw new Error('expected the flag to be refused')
}

describe('CLI flag parsers', () => {
  it('portFlag accepts 0-65535 and names the flag and the range otherwise', () => {
    const parse = portFlag('--mqtt-port')
    expect(parse('0')).toBe(0)
    expect(parse('65535')).toBe(65535)
    for (const bad of ['70000', '-1', '1.5', 'abc', '', '1e3', '0x10']) {
      const message = rejection(() => parse(bad))
      expect(message).toContain('--mqtt-port')
      expect(message).toContain('0 to 65535')
      expect(message).toContain(`"${bad}"`)
    }
  })

  it('integerFlag and numberFlag enforce their ranges', () => {
    expect(integerFlag('--sensors', 1, 10)('10')).toBe(10)
    expect(rejection(() => integerFlag('--sensors', 1, 10)('11'))).toContain('--sensors must be an integer from 1 to 10')
    expect(numberFlag('--rate', 0.1, 100)('2.5')).toBe(2.5)
    expect(rejection(() => numberFlag('--rate', 0.1, 100)('Infinity'))).toContain('--rate')
    expect(rejection(() => numberFlag('--rate', 0.1, 100)(' '))).toContain('--rate')
  })

  it('urlFlag accepts the allowed protocols only', () => {
    const parse = urlFlag('--broker', ['mqtt:', 'mqtts:'])
    expect(parse('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883')
    expect(parse('mqtts://broker.local')).toBe('mqtts://broker.local')
    expect(rejection(() => parse('http://127.0.0.1'))).toContain('--broker must use mqtt: or mqtts:')
    expect(rejection(() => parse('not a url'))).toContain('--broker must be a URL')
  })
})
