import { describe, expect, it } from 'vitest'
import {
  alertTopic,
  IDENTIFIER_PATTERN,
  isTelemetryTopic,
  parseTelemetryTopic,
  telemetryTopic,
} from '../../shared/telemetry.js'

describe('telemetry topics', () => {
  it('builds sensor and alert topics', () => {
    expect(telemetryTopic('pump-7', 'vibration')).toBe('sensors/pump-7/vibration')
    expect(alertTopic('pump-7', 'vibration')).toBe('alerts/pump-7/vibration')
  })

  it('recognises the sensors/ prefix only', () => {
    expect(isTelemetryTopic('sensors/a/b')).toBe(true)
    expect(isTelemetryTopic('sensors')).toBe(false)
    expect(isTelemetryTopic('alerts/a/b')).toBe(false)
    expect(isTelemetryTopic('Sensors/a/b')).toBe(false)
  })

  it.each([
    ['sensors/pump-7/vibration', 'pump-7', 'vibration'],
    ['sensors/site1:line2.pump_3/temp.c', 'site1:line2.pump_3', 'temp.c'],
    [`sensors/${'a'.repeat(64)}/${'m'.repeat(64)}`, 'a'.repeat(64), 'm'.repeat(64)],
  ])('parses %s', (topic, sensorId, metric) => {
    expect(parseTelemetryTopic(topic)).toEqual({ sensorId, metric })
    expect(parseTelemetryTopic(telemetryTopic(sensorId, metric))).toEqual({ sensorId, metric })
  })

  it.each([
    ['no levels', 'sensors'],
    ['only the prefix', 'sensors/'],
    ['two levels', 'sensors/pump-7'],
    ['four levels', 'sensors/pump-7/vibration/x'],
    ['a trailing slash', 'sensors/pump-7/vibration/'],
    ['an empty sensor id', 'sensors//vibration'],
    ['an empty metric', 'sensors/pump-7/'],
    ['a space', 'sensors/pump 7/vibration'],
    ['non-ASCII', 'sensors/pümpe/vibration'],
    ['a 65-character sensor id', `sensors/${'a'.repeat(65)}/m`],
    ['a 65-character metric', `sensors/a/${'m'.repeat(65)}`],
    ['a wildcard character', 'sensors/+/vibration'],
    ['a $ character', 'sensors/$SYS/x'],
  ])('refuses %s', (_name, topic) => {
    expect(parseTelemetryTopic(topic)).toBeUndefined()
  })

  it('has identifiers of 1-64 characters of A-Z a-z 0-9 _ - . :', () => {
    expect(IDENTIFIER_PATTERN.test('A-z_0.9:')).toBe(true)
    expect(IDENTIFIER_PATTERN.test('')).toBe(false)
    expect(IDENTIFIER_PATTERN.test('a/b')).toBe(false)
  })
})
