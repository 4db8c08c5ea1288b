import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { ConnectionGate } from '../../edge/broker/limits/connection-gate.js'
import { LimitHits } from '../../edge/broker/limits/limit-hits.js'
import { PacketSizeScanner } from '../../edge/broker/limits/packet-size-guard.js'

const publish = (payloadBytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 't/x', payload: Buffer.alloc(payloadBytes), qos: 0, retain: false, dup: false })

describe('PacketSizeScanner', () => {
  it('passes packets up to the limit however the stream is cut, and reports the first larger one from its header alone', () => {
    const limit = 1000
    const fits = [publish(10), publish(limit - 5), mqttPacket.generate({ cmd: 'pingreq' }), publish(300)]
    const stream = Buffer.concat(fits)
    for (const cut of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new PacketSizeScanner(limit)
      for (let i = 0; i < stream.length; i += cut) expect(scanner.scan(stream.subarray(i, i + cut))).toBe(-1)
    }
    const scanner = new PacketSizeScanner(limit)
    expect(scanner.scan(stream)).toBe(-1)
    // Only the 4-byte fixed header of a 100 MB packet: enough to refuse it.
    const header = Buffer.from([0x31, 0x80, 0x80, 0x80, 0x40])
    expect(scanner.scan(header.subarray(0, 2))).toBe(-1)
    expect(scanner.scan(header.subarray(2))).toBe(0x40 * 128 ** 3)
  })
})

describe('ConnectionGate', () => {
  const socket = (address = '10.0.0.1') => Object.assign(new EventEmitter(), { remoteAddress: address, destroyed: false, destroy() { this.destroyed = true } }) as unknown as Socket & { destroyed: boolean }

  it('admits up to maxConnections and again once one closes', () => {
    const hits = new LimitHits()
    const gate = new ConnectionGate({ maxConnections: 2, connectRatePerSecond: 1000, connectBurst: 1000, hits })
    const [a, b, c] = [socket(), socket('10.0.0.2'), socket('10.0.0.3')]
    expect([gate.admit(a), gate.admit(b), gate.admit(c)]).toEqual([true, true, false])
    expect(c.destroyed).toBe(true)
    a.emit('close')
    expect(gate.admit(socket('10.0.0.4'))).toBe(true)
    expect(hits.counts().connections).toBe(1)
  })

  it('refills the bucket of an address at connectRatePerSecond after its burst', () => {
    let now = 0
    const hits = new LimitHits({ now: () => now })
    const gate = new ConnectionGate({ maxConnections: 1000, connectRatePerSecond: 2, connectBurst: 3, hits, now: () => now })
    const results = Array.from({ length: 5 }, () => gate.admit(socket()))
    expect(results).toEqual([true, true, true, false, false])
    // Another address has its own bucket.
    expect(gate.admit(socket('10.9.9.9'))).toBe(true)
    now += 500
    expect(gate.admit(socket())).toBe(true)
    expect(gate.admit(socket())).toBe(false)
    expect(hits.counts().connect_rate).toBe(3)
  })
})

describe('LimitHits', () => {
  it('degrades health for a minute after a hit of a degrading limit only, and logs once a minute per limit', () => {
    let now = 1_000_000
    const logged: string[] = []
    const hits = new LimitHits({ now: () => now, log: (limit, _detail, earlier) => logged.push(`${limit}:${earlier}`) })
    hits.record('keepalive_clamped', 'x')
    expect(hits.degradingRecently()).toEqual([])
    hits.record('subscriptions', 'x')
    hits.record('subscriptions', 'x', 4)
    expect(hits.degradingRecently()).toEqual(['subscriptions'])
    now += 60_001
    expect(hits.degradingRecently()).toEqual([])
    hits.record('subscriptions', 'x')
    expect(hits.counts().subscriptions).toBe(6)
    expect(logged).toEqual(['keepalive_clamped:0', 'subscriptions:0', 'subscriptions:5'])
  })
})
