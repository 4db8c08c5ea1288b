import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { EdgeConfigSchema } from '../../shared/config/edge-config-schema.js'
import { deviceLocalKeys, isDeviceLocalKey } from '../../shared/config-crdt/device-local-keys.js'
import { effectiveConfig, nonDefaultLeaves } from '../../shared/config-crdt/layers.js'

type Node = TSchema & { properties?: Record<string, TSchema>; patternProperties?: Record<string, TSchema>; anyOf?: TSchema[]; type?: string }

/** Every key of the schema down to its leaves (record entries as `<name>`). */
function allKeys(schema: TSchema, prefix = ''): string[] {
  const node = schema as Node
  const join = (name: string) => (prefix === '' ? name : `${prefix}.${name}`)
  const children: [string, TSchema][] = [...Object.entries(node.properties ?? {}), ...Object.values(node.patternProperties ?? {}).map((c) => ['<name>', c] as [string, TSchema])]
  if (children.length === 0) return prefix === '' ? [] : [prefix]
  return [...(prefix === '' ? [] : [prefix]), ...children.flatMap(([name, child]) => allKeys(child, join(name)))]
}

/**
 * Words that name something granting trust or running code: a path, file or
 * directory, a command or hook, a host, port, URL or socket (a listener or a
 * peer the edge trusts), a key, certificate or CA, broker auth, ACLs,
 * passwords, TLS, anonymous access.
 */
const TRUST_WORDS = new Set([
  'path', 'paths', 'file', 'files', 'dir', 'directory', 'command', 'cmd', 'hook', 'exec', 'script', 'program',
  'host', 'hosts', 'port', 'ports', 'url', 'urls', 'socket', 'listener', 'listeners', 'bind',
  'key', 'keys', 'cert', 'certs', 'certificate', 'ca', 'pin', 'trusted', 'trust', 'auth', 'authentication', 'acl', 'acls',
  'password', 'passwords', 'passwd', 'credentials', 'users', 'tls', 'ssl', 'mtls', 'anonymous', 'allow',
])

/**
 * Keys whose name holds such a word but that grant nothing, each with why.
 * Adding one here is a reviewed decision, not a way to silence the test.
 */
const NOT_TRUST: Record<string, string> = {
  'ota.installerHookTimeoutSeconds': 'a timeout: only shortens or lengthens how long the configured hook may run',
  'rules.<name>.action.topic': 'the topic a rule publishes on: rules are the hub\'s to push (the edge publishes as itself, ACLs apply)',
}

const words = (segment: string) => segment.split(/(?=[A-Z])|[-_]/).map((w) => w.toLowerCase())

describe('device-local keys (x-device-local in the edge config schema)', () => {
  it('every key named like a path, command, host, port, URL, key, certificate, auth, ACL, password or TLS setting carries the annotation', () => {
    const unmarked = allKeys(EdgeConfigSchema).filter((key) => {
      if (Object.hasOwn(NOT_TRUST, key) || isDeviceLocalKey(EdgeConfigSchema, key)) return false
      return key.split('.').some((segment) => words(segment).some((w) => TRUST_WORDS.has(w)))
    })
    expect(unmarked, `mark these with 'x-device-local': true in shared/config/edge-config-schema.ts, or justify them in NOT_TRUST`).toEqual([])
  })

  it('marks the keys of the remote-root attack and the listeners', () => {
    const marked = deviceLocalKeys(EdgeConfigSchema)
    for (const key of ['ota.trustedKeys', 'ota.installerHook', 'mqtt.host', 'mqtt.port', 'http.host', 'http.port', 'hub.url', 'anomaly.modelPath', 'mqtt.brokerUrl']) {
      expect(marked, key).toContain(key)
      expect(isDeviceLocalKey(EdgeConfigSchema, key), key).toBe(true)
    }
    for (const key of ['storage.retentionDays', 'ingest.maxPayloadBytes', 'rules.temp.max', 'ota.pollIntervalSeconds', 'no.such.key']) expect(isDeviceLocalKey(EdgeConfigSchema, key), key).toBe(false)
  })

  it('refuses them from the group and device layers only, keeps the file\'s values beneath a document\'s section, applies the rest', () => {
    const file = nonDefaultLeaves(EdgeConfigSchema, Value.Default(EdgeConfigSchema, { mqtt: { host: '127.0.0.1' }, ota: { trustedKeys: ['/etc/cloudos/release.pub.pem'] } }))
    const frozen = Object.freeze({ enabled: false, installerHook: 'sh -c id' })
    const result = effectiveConfig(EdgeConfigSchema, {
      file,
      group: { 'ota.trustedKeys': ['-----BEGIN PUBLIC KEY-----rogue'], 'storage.retentionDays': 3, mqtt: {} },
      device: { ota: frozen, 'http.port': 80 },
      refuseDeviceLocal: true,
    })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.config.ota.trustedKeys).toEqual(['/etc/cloudos/release.pub.pem'])
    expect(result.config.ota.installerHook).toBeUndefined()
    expect(result.config.ota.enabled).toBe(false)
    expect(result.config.mqtt.host).toBe('127.0.0.1')
    expect(result.config.http.port).toBe(8081)
    expect(result.config.storage.retentionDays).toBe(3)
    expect(result.refused.map((r) => `${r.layer}:${r.key}:${r.code}`).sort()).toEqual([
      'device:http.port:CONFIG_ERR_DEVICE_LOCAL_KEY',
      'device:ota.installerHook:CONFIG_ERR_DEVICE_LOCAL_KEY',
      'group:ota.trustedKeys:CONFIG_ERR_DEVICE_LOCAL_KEY',
    ])
    // Without the option (the hub's own views) nothing changes.
    const unguarded = effectiveConfig(EdgeConfigSchema, { file, group: { 'ota.trustedKeys': ['x'] } })
    expect(unguarded.ok && unguarded.config.ota.trustedKeys).toEqual(['x'])
  })
})
