import { describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import type { ConfigSection, EdgeService } from '../../edge/services/edge-service.js'
import { EdgeServices, sectionOf } from '../../edge/services/edge-services.js'
import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'

function recorder() {
  const events: string[] = []
  const warnings: string[] = []
  const log: Logger = { info() {}, error() {}, warn: (m) => warnings.push(m) }
  const service = (name: string, sections: ConfigSection[], behaviour: { failStart?: boolean; failStop?: boolean } = {}): EdgeService => ({
    name,
    sections,
    async start() {
      events.push(`start ${name}`)
      if (behaviour.failStart) throw new Error(`${name} cannot start`)
    },
    stop() {
      events.push(`stop ${name}`)
      if (behaviour.failStop) throw new Error(`${name} cannot stop`)
    },
    reconfigure(_next: EdgeConfig, changed: readonly string[]) {
      events.push(`reconfigure ${name} ${changed.join(',')}`)
    },
  })
  return { events, warnings, log, service }
}

describe('EdgeServices', () => {
  it('starts in registration order and stops in reverse', async () => {
    const { events, log, service } = recorder()
    const services = new EdgeServices(log)
    for (const name of ['database', 'api', 'ingest', 'broker']) services.register(service(name, []))
    await services.start()
    await services.stop()
    expect(events).toEqual(['start database', 'start api', 'start ingest', 'start broker', 'stop broker', 'stop ingest', 'stop api', 'stop database'])
  })

  it('after a failed start, stops what was started (the failed one too) and never starts the rest', async () => {
    const { events, log, service } = recorder()
    const services = new EdgeServices(log)
    services.register(service('database', []))
    services.register(service('broker', [], { failStart: true }))
    services.register(service('ota', []))
    await expect(services.start()).rejects.toThrow('broker cannot start')
    await services.stop()
    expect(events).toEqual(['start database', 'start broker', 'stop broker', 'stop database'])
  })

  it('a failing stop is logged and the services before it still stop', async () => {
    const { events, warnings, log, service } = recorder()
    const services = new EdgeServices(log)
    services.register(service('database', []))
    services.register(service('broker', [], { failStop: true }))
    await services.start()
    await services.stop()
    expect(events.slice(-2)).toEqual(['stop broker', 'stop database'])
    expect(warnings).toEqual(['stopping the broker service failed'])
  })

  it('a live change reaches exactly the owners of the changed sections, each with its own keys', () => {
    const { events, log, service } = recorder()
    const services = new EdgeServices(log)
    services.register(service('ingest', ['ingest', 'storage']))
    services.register(service('retention', ['storage']))
    services.register(service('outbox', ['outbox']))
    services.register(service('rules', ['rules']))
    const config = loadEdgeConfig(undefined, {})
    services.reconfigure(config, ['ingest.maxPayloadBytes', 'storage.retentionSchedule', 'rules.alerts'])
    expect(events).toEqual([
      'reconfigure ingest ingest.maxPayloadBytes,storage.retentionSchedule',
      'reconfigure retention storage.retentionSchedule',
      'reconfigure rules rules.alerts',
    ])
    expect(services.ownersOf('storage')).toEqual(['ingest', 'retention'])
    expect(sectionOf('hub.heartbeatIntervalSeconds')).toBe('hub')
  })

  it('refuses two services with one name', () => {
    const { log, service } = recorder()
    const services = new EdgeServices(log)
    services.register(service('rules', ['rules']))
    expect(() => services.register(service('rules', []))).toThrow(/already registered/)
  })
})
