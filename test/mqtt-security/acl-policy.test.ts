import { describe, expect, it } from 'vitest'
import { AclFilePolicy, defaultAccessPolicy, type ClientIdentity } from '../../edge/broker/security/access-policy.js'
import { parseAclFile } from '../../edge/broker/security/acl-file.js'
import { compileTopicFilter, filterCovers, isValidTopicFilter } from '../../edge/broker/security/topic-filter.js'

const anonymous: ClientIdentity = { username: null, via: 'anonymous' }
const user = (username: string): ClientIdentity => ({ username, via: 'password' })

describe('topic filters (MQTT 3.1.1 section 4.7)', () => {
  it.each([
    ['sensors/a/temp', 'sensors/a/temp', true],
    ['sensors/a/temp', 'sensors/a/tempx', false],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b', true],
    ['sensors/#', 'sensorsx/a', false],
    ['sensors/+/temp', 'sensors/a/temp', true],
    ['sensors/+/temp', 'sensors/a/b/temp', false],
    ['sensors/+', 'sensors/', true],
    ['#', 'a/b', true],
    ['#', '$SYS/broker', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(compileTopicFilter(filter)(topic)).toBe(expected)
  })

  it('rejects invalid filters', () => {
    for (const bad of ['', 'a/#/b', 'a#', 'a/b+', 'a/\u0000']) expect(isValidTopicFilter(bad), bad).toBe(false)
    for (const good of ['#', '+', 'a/+/b', 'a/#', '/']) expect(isValidTopicFilter(good), good).toBe(true)
  })

  it.each([
    ['sensors/#', 'sensors/a/#', true],
    ['sensors/#', 'sensors/+/temp', true],
    ['sensors/a/#', '#', false],
    ['sensors/a/#', 'sensors/#', false],
    ['sensors/+/temp', 'sensors/+/temp', true],
    ['sensors/+/temp', 'sensors/+/+', false],
    ['sensors/a', 'sensors/a/#', false],
    ['#', '$SYS/#', false],
    ['#', '#', true],
  ])('%s covers the subscription %s: %s', (outer, inner, expected) => {
    expect(filterCovers(outer, inner)).toBe(expected)
  })
})

describe('ACL file (Mosquitto acl_file syntax and semantics)', () => {
  const rules = parseAclFile(
    [
      '# anonymous clients: the lines before any user',
      'topic read public/#',
      '',
      'user boiler-1',
      'topic write sensors/boiler-1/#',
      'topic read commands/boiler/#',
      'topic deny commands/boiler/secret',
      'user admin',
      'topic readwrite #',
      'pattern write devices/%u/status',
      'pattern read inbox/%c/#',
    ].join('\n'),
  )

  it('gives anonymous clients only the lines before the first user, and no %u pattern', () => {
    const access = new AclFilePolicy(rules).forClient(anonymous, 'anon-1')
    expect(access.mayReceive('public/news')).toBe(true)
    expect(access.mayPublish('public/news')).toBe(false)
    expect(access.mayPublish('devices/status')).toBe(false)
    expect(access.mayReceive('inbox/anon-1/x')).toBe(true)
  })

  it('applies a user block, deny rules first, then patterns with %u and %c', () => {
    const access = new AclFilePolicy(rules).forClient(user('boiler-1'), 'boiler-client')
    expect(access.mayPublish('sensors/boiler-1/temp')).toBe(true)
    expect(access.mayPublish('sensors/other/temp')).toBe(false)
    expect(access.mayReceive('commands/boiler/burner')).toBe(true)
    expect(access.mayReceive('commands/boiler/secret')).toBe(false)
    expect(access.mayPublish('commands/boiler/burner')).toBe(false)
    expect(access.mayPublish('devices/boiler-1/status')).toBe(true)
    expect(access.mayPublish('devices/admin/status')).toBe(false)
    expect(access.mayReceive('inbox/boiler-client/1')).toBe(true)
    expect(access.maySubscribe('commands/boiler/#')).toBe(true)
    expect(access.maySubscribe('commands/#')).toBe(false)
    expect(access.maySubscribe('#')).toBe(false)
    // Cached decisions stay the same on a second ask.
    expect(access.mayPublish('sensors/other/temp')).toBe(false)
    expect(access.mayPublish('sensors/boiler-1/temp')).toBe(true)
  })

  it('gives no pattern to a client id holding a wildcard (it would widen %c)', () => {
    const access = new AclFilePolicy(rules).forClient(user('boiler-1'), '#')
    expect(access.mayReceive('inbox/x/1')).toBe(false)
    expect(access.mayPublish('sensors/boiler-1/temp')).toBe(true)
  })

  it('refuses a malformed line with its number', () => {
    expect(() => parseAclFile('topic read a\nuser\n')).toThrow(/line 2/)
    expect(() => parseAclFile('topic read a/#/b')).toThrow(expect.objectContaining({ code: 'EDGE_ERR_MQTT_ACL_FILE' }))
    expect(() => parseAclFile('topics read a')).toThrow(/line 1/)
  })
})

describe('built-in access rules (no mqtt.aclFile)', () => {
  it('lets a user write only sensors/<username>/# and read nothing', () => {
    const access = defaultAccessPolicy.forClient(user('pump-7'), 'c')
    expect(access.mayPublish('sensors/pump-7/flow')).toBe(true)
    expect(access.mayPublish('sensors/pump-77/flow')).toBe(false)
    expect(access.mayPublish('alerts/pump-7/flow')).toBe(false)
    expect(access.mayPublish('apps/x')).toBe(false)
    expect(access.mayReceive('sensors/pump-7/flow')).toBe(false)
    expect(access.maySubscribe('#')).toBe(false)
  })

  it('lets anonymous (loopback) clients read everything and write all but alerts/, commands/ and $ topics', () => {
    const access = defaultAccessPolicy.forClient(anonymous, 'c')
    expect(access.mayPublish('sensors/a/temp')).toBe(true)
    expect(access.mayPublish('apps/lights/state')).toBe(true)
    for (const topic of ['alerts/a/temp', 'alerts', 'commands/boiler/burner', '$SYS/x']) expect(access.mayPublish(topic), topic).toBe(false)
    expect(access.mayPublish('alertsx/a')).toBe(true)
    expect(access.mayReceive('alerts/a/temp')).toBe(true)
    expect(access.maySubscribe('#')).toBe(true)
    expect(access.maySubscribe('$SYS/#')).toBe(false)
  })
})
