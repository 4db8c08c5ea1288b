import type { Aedes, Client, PublishPacket, Subscription } from 'aedes'
import type { Socket } from 'node:net'
import type { MqttLimitsConfig } from '../../../shared/config/edge-config-schema.js'
import { CloudosError } from '../../../shared/errors.js'
import { BoundedPersistence, type BoundablePersistence } from './bounded-persistence.js'
import { ConnectionGate } from './connection-gate.js'
import { LimitHits, type BrokerLimitName } from './limit-hits.js'
import { guardPacketSize } from './packet-size-guard.js'

/** What /metrics and /healthz read about the broker's limits. */
export interface BrokerLimitStatus {
  /** Lifetime hits per limit. */
  hits: Record<BrokerLimitName, number>
  /** Limits hit in the last minute that make /healthz "degraded". */
  degradedBy: BrokerLimitName[]
  openConnections: number
  retainedMessages: number
  retainedBytes: number
  queuedMessages: number
  queuedBytes: number
  subscriptions: number
}

export interface BrokerLimitsOptions {
  limits: MqttLimitsConfig
  now?: () => number
  log?: (message: string) => void
}

type SubscribeCallback = (error: Error | null, subscription?: Subscription | null) => void

/**
 * Every resource limit of the embedded broker (mqtt.limits.*), applied where
 * it bounds memory earliest: connections and connect rate when a socket is
 * accepted, packet size before the MQTT parser buffers anything, keep-alive
 * at CONNECT, retained messages before the PUBACK, subscriptions per client
 * in authorizeSubscribe (SUBACK 0x80), queued messages in the persistence.
 * It wraps aedes' hooks from the outside, so authentication and ACL hooks
 * set in the broker's options still run (first) and the limits stay in one place.
 */
export class BrokerLimits {
  readonly hits: LimitHits
  readonly #limits: MqttLimitsConfig
  readonly #gate: ConnectionGate
  readonly #persistence: BoundedPersistence
  /** Topic filters each connected client holds (its session's, once restored). */
  readonly #subscriptionsOf = new WeakMap<Client, Set<string>>()
  #aedes: Aedes | undefined

  constructor(options: BrokerLimitsOptions) {
    const { limits } = options
    const log = options.log
    this.#limits = limits
    this.hits = new LimitHits({
      ...(options.now === undefined ? {} : { now: options.now }),
      log: (limit, detail, earlier) => log?.(`EDGE_ERR_MQTT_LIMIT_EXCEEDED ${limit}: ${detail}${earlier > 1 ? ` (${earlier} hits of this limit in the previous minute)` : ''}`),
    })
    this.#gate = new ConnectionGate({ ...limits, hits: this.hits })
    this.#persistence = new BoundedPersistence(limits, this.hits)
  }

  /** aedes options owned by the limits: merge into Aedes.createBroker's options. */
  get aedesOptions(): { connectTimeout: number } {
    return { connectTimeout: this.#limits.connectTimeoutMs }
  }

  /** Wraps the hooks and the persistence of a started aedes (after createBroker). */
  install(aedes: Aedes): void {
    this.#aedes = aedes
    this.#persistence.wrap((aedes as unknown as { persistence: BoundablePersistence }).persistence)
    this.#clampKeepalive(aedes)
    this.#refuseOversizedRetained(aedes)
    this.#capSubscriptions(aedes)
    aedes.on('connectionError', (client, err) => {
      // aedes' own message for its connectTimeout (lib/client.js).
      if (err.message === 'connect did not arrive in time') this.hits.record('connect_timeout', `${remoteOf(client)}: no CONNECT within ${this.#limits.connectTimeoutMs} ms (mqtt.limits.connectTimeoutMs)`)
    })
    aedes.on('keepaliveTimeout', (client) => this.hits.record('keepalive_timeout', `client "${client.id}" (${remoteOf(client)}) silent for 1.5 x its keep-alive [MQTT-3.1.2-24]`))
  }

  /** The first check on an accepted socket (plain or TLS, before the handshake). False: refused and destroyed. */
  admit(socket: Socket): boolean {
    return this.#gate.admit(socket)
  }

  /** Guards the packet size of a client aedes just created for a connection. */
  guard(client: Client): void {
    const max = this.#limits.maxPacketBytes
    guardPacketSize(client, max, (announced) => {
      const detail = `${remoteOf(client)} announced a ${announced}-byte packet (mqtt.limits.maxPacketBytes ${max})`
      this.hits.record('packet_size', detail)
      client.conn.destroy()
    })
  }

  status(): BrokerLimitStatus {
    let subscriptions = 0
    const clients = (this.#aedes as unknown as { clients?: Record<string, Client> } | undefined)?.clients ?? {}
    for (const id in clients) subscriptions += this.#subscriptionsOf.get(clients[id]!)?.size ?? 0
    return {
      hits: this.hits.counts(),
      degradedBy: this.hits.degradingRecently(),
      openConnections: this.#gate.openConnections,
      retainedMessages: this.#persistence.retainedMessages,
      retainedBytes: this.#persistence.retainedBytes,
      queuedMessages: this.#persistence.queuedMessages,
      queuedBytes: this.#persistence.queuedBytes,
      subscriptions,
    }
  }

  /**
   * MQTT 3.1.1 cannot tell a client which keep-alive to use (MQTT 5's Server
   * Keep Alive can), so refusing a large one would only make clients fail:
   * instead a keep-alive of 0 (never checked, section 3.1.2.10) or above the
   * maximum is replaced by the maximum, and aedes disconnects a client silent
   * for 1.5 times it [MQTT-3.1.2-24]. A client that pings at least that often
   * is unaffected; an idle one is reaped.
   */
  #clampKeepalive(aedes: Aedes): void {
    const max = this.#limits.maxKeepaliveSeconds
    const preConnect = aedes.preConnect.bind(aedes)
    aedes.preConnect = (client, packet, callback) => {
      const asked = packet.keepalive ?? 0
      if (asked === 0 || asked > max) {
        this.hits.record('keepalive_clamped', `client "${packet.clientId}" (${remoteOf(client)}) asked for keep-alive ${asked} s; given ${max} s (mqtt.limits.maxKeepaliveSeconds)`)
        packet.keepalive = max
      }
      preConnect(client, packet, callback)
    }
  }

  /** A retained PUBLISH over the bounds is refused before its PUBACK: aedes disconnects the client on the error. */
  #refuseOversizedRetained(aedes: Aedes): void {
    const authorizePublish = aedes.authorizePublish.bind(aedes)
    aedes.authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) => {
      if (packet.retain) {
        const refusal = this.#persistence.checkRetained(packet.topic, packet.payload.length)
        if (refusal !== undefined) {
          this.hits.record(refusal.limit, `${client === null ? 'the edge' : `client "${client.id}"`}: ${refusal.detail}`)
          callback(new CloudosError('EDGE_ERR_MQTT_LIMIT_EXCEEDED', refusal.detail, { limit: refusal.limit }))
          return
        }
      }
      authorizePublish(client, packet, callback)
    }
  }

  /** Filters over the cap get SUBACK 0x80 (MQTT 3.1.1 section 3.9.3); the client stays connected. */
  #capSubscriptions(aedes: Aedes): void {
    const max = this.#limits.maxSubscriptionsPerClient
    const authorizeSubscribe = aedes.authorizeSubscribe.bind(aedes)
    aedes.authorizeSubscribe = (client: Client, sub: Subscription, callback: SubscribeCallback) => {
      authorizeSubscribe(client, sub, (error, granted) => {
        if (error !== null || granted === null || granted === undefined) return callback(error, granted)
        let held = this.#subscriptionsOf.get(client)
        if (held === undefined) this.#subscriptionsOf.set(client, (held = new Set()))
        if (!held.has(granted.topic)) {
          if (held.size >= max) {
            this.hits.record('subscriptions', `client "${client.id}" (${remoteOf(client)}) holds ${held.size} subscriptions (mqtt.limits.maxSubscriptionsPerClient ${max})`)
            return callback(null, null)
          }
          held.add(granted.topic)
        }
        if (client.clean === false) this.#persistence.authorizedSubscription(client, granted)
        callback(null, granted)
      })
    }
    aedes.on('unsubscribe', (topics, client) => {
      const held = this.#subscriptionsOf.get(client)
      if (held !== undefined) for (const topic of topics) held.delete(topic)
    })
  }
}

function remoteOf(client: Client | null): string {
  const conn = client?.conn as { remoteAddress?: string; remotePort?: number } | undefined
  return conn?.remoteAddress === undefined ? 'unknown address' : `${conn.remoteAddress}:${conn.remotePort ?? '?'}`
}
