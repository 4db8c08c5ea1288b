import { describe, expect, it } from 'vitest'
import { decideAnonymousAccess, isLoopbackHost } from '../../edge/broker/security/listener-exposure.js'

describe('which listeners are public (Mosquitto 2 defaults)', () => {
  it('knows loopback names and addresses from the rest', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'edge.local', '10.0.0.1', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false)
  })

  it('allows anonymous clients on loopback unless turned off, and on a public listener only when asked, with a warning', () => {
    expect(decideAnonymousAccess({ listenerHosts: ['127.0.0.1'], allowAnonymous: undefined, authenticationConfigured: false })).toEqual({ anonymous: true })
    expect(decideAnonymousAccess({ listenerHosts: ['127.0.0.1'], allowAnonymous: false, authenticationConfigured: false })).toEqual({ anonymous: false })
    expect(decideAnonymousAccess({ listenerHosts: ['0.0.0.0'], allowAnonymous: undefined, authenticationConfigured: true })).toEqual({ anonymous: false })
    expect(decideAnonymousAccess({ listenerHosts: ['0.0.0.0'], allowAnonymous: true, authenticationConfigured: false })).toMatchObject({ anonymous: true, warning: expect.stringContaining('0.0.0.0') })
    // A TLS listener on the network counts too.
    expect(() => decideAnonymousAccess({ listenerHosts: ['127.0.0.1', '0.0.0.0'], allowAnonymous: undefined, authenticationConfigured: false })).toThrow(
      expect.objectContaining({ code: 'EDGE_ERR_MQTT_PUBLIC_NO_AUTH' }),
    )
  })
})
