import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { MqttLimitsConfig, MqttTlsConfig } from '../../shared/config/edge-config-schema.js'
import { TELEMETRY_TOPIC_PREFIX } from '../../shared/telemetry.js'
import type { AckCallback } from '../ingest/ingest-pipeline.js'
import { BrokerLimits, type BrokerLimitStatus } from './limits/broker-limits.js'
import type { BrokerAccessControl } from './security/broker-access-control.js'
import { ConnackRefusal, type MqttDenialReason, type SecuredClient } from './security/broker-security.js'
import type { TelemetryBroker } from './telemetry-broker.js'
import { createTlsListener } from './tls-listener.js'

export interface EmbeddedBrokerOptions {
  host: string
  port: number
  /** mqtt.limits: every one applies to both listeners. */
  limits: MqttLimitsConfig
  /** mqtt.tls: a second listener (TLS) on the same broker when `certFile` is set. */
  tls?: MqttTlsConfig
  /** Takes a `sensors/...` message; `done` releases the PUBACK (QoS 1) or the next packet. */
  onTelemetry: (topic: string, payload: Buffer, qos: number, done: AckCallback) => void
  /** Authentication and ACLs (security/): every client connection, publish, subscribe and delivery goes through it. */
  access: BrokerAccessControl
  log?: (message: string) => void
}

/**
 * The embedded MQTT 3.1.1 broker: aedes over TCP. Telemetry is taken where the
 * broker receives it (aedes' authorizePublish hook, which runs before aedes
 * sends the PUBACK and before it routes the message), so there is no extra
 * subscriber hop and the PUBACK waits for the commit. Every other topic, and
 * telemetry itself, routes to subscribers as in any MQTT broker.
 *
 * Fast path: routing a message through aedes (trie match for online and
 * offline sessions, a promise per QoS 1 message) costs more than decoding and
 * storing it. Until some client subscribes with a filter that can match a
 * telemetry topic (`sensors/...`, `+/...` or `#`), no one can receive
 * telemetry, so non-retained telemetry skips routing. The first such
 * subscription turns routing on for the rest of the process's life (aedes
 * keeps subscriptions of persistent sessions while their clients are away).
 */
export class EmbeddedBroker implements TelemetryBroker {
  readonly #options: EmbeddedBrokerOptions
  #aedes: Aedes | undefined
  #server: Server | undefined
  #tlsServer: Server | undefined
  readonly #sockets = new Set<Socket>()
  readonly #limits: BrokerLimits
  #port = 0
  #tlsPort: number | null = null
  #telemetryHasSubscribers = false
  readonly #refusedPackets = new WeakSet<object>()

  constructor(options: EmbeddedBrokerOptions) {
    this.#options = options
    this.#limits = new BrokerLimits({ limits: options.limits, ...(options.log === undefined ? {} : { log: options.log }) })
  }

  get port(): number {
    return this.#port
  }

  async start(): Promise<void> {
    const onTelemetry = this.#options.onTelemetry
    const markSubscribed = () => {
      this.#telemetryHasSubscribers = true
    }
    const access = this.#options.access
    const security = access.security
    // Publishes refused by the ACL still get their PUBACK/PUBREC (as Mosquitto does: MQTT 3.1.1 has no negative
    // acknowledgement) and are then dropped in publish below, before routing or the retained store.
    const refused = this.#refusedPackets
    const aedes = await Aedes.createBroker({
      ...this.#limits.aedesOptions,
      preConnect(client: Client, packet: { clientId: string }, callback: (error: Error | null, ok: boolean) => void) {
        security.noteConnect(client, packet)
        callback(null, true)
      },
      authenticate(client: Client, username: Readonly<string | undefined>, password: Readonly<Buffer | undefined>, callback: (error: AuthenticateError | null, ok: boolean | null) => void) {
        security.authenticate(client as unknown as SecuredClient, username, password as Buffer | undefined).then(
          () => callback(null, true),
          // aedes sends the CONNACK with this return code, then closes the connection [MQTT-3.2.2-5].
          (err: Error) => callback(Object.assign(err, { returnCode: (err instanceof ConnackRefusal ? err.returnCode : 5) as number as AuthenticateError['returnCode'] }), false),
        )
      },
      authorizeSubscribe(client: Client | null, subscription: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void) {
        // A refused filter gets 0x80 in the SUBACK (MQTT 3.1.1 section 3.9.3); the others of the packet are granted.
        if (client === null || !security.maySubscribe(client, subscription.topic)) {
          callback(null, null)
          return
        }
        if (filterMayMatchTelemetry(subscription.topic)) markSubscribed()
        callback(null, subscription)
      },
      authorizeForward(client: Client, packet: AedesPublishPacket) {
        return security.mayReceive(client, packet.topic) ? packet : null
      },
      authorizePublish(client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void) {
        if (!security.mayPublish(client, packet.topic)) {
          refused.add(packet)
          callback(null)
          return
        }
        if (!packet.topic.startsWith(TELEMETRY_TOPIC_PREFIX)) {
          callback(null)
          return
        }
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
        onTelemetry(packet.topic, payload, packet.qos, (err) => callback(err ?? null))
      },
    })
    this.#aedes = aedes
    this.#installTelemetryFastPath(aedes)
    this.#limits.install(aedes)
    const serve = (socket: Socket) => {
      // Alerts and commands are latency-critical: do not let Nagle's algorithm
      // hold a small write until the previous one is acknowledged. Bulk
      // writes (a commit's PUBACKs) are already coalesced by corking.
      socket.setNoDelay(true)
      this.handleConnection(socket)
    }
    const server = createServer((socket) => {
      if (this.#limits.admit(socket)) serve(socket)
    })
    this.#server = server
    this.#port = await listen(server, this.#options.port, this.#options.host)
    const tls = this.#options.tls
    if (tls?.certFile !== undefined) {
      const tlsServer = createTlsListener(
        { ...tls, certFile: tls.certFile },
        { admit: (socket) => this.#limits.admit(socket), onSecureSocket: serve, handshakeTimeoutMs: this.#options.limits.connectTimeoutMs },
      )
      this.#tlsServer = tlsServer
      this.#tlsPort = await listen(tlsServer, tls.port, tls.host ?? this.#options.host)
    }
    access.start(() => Object.values((aedes as unknown as { clients: Record<string, SecuredClient> }).clients))
  }

  /** ACL and authentication refusals since start, per reason (exported in /metrics). */
  accessDenials(): Readonly<Record<MqttDenialReason, number>> {
    return this.#options.access.security.denials
  }

  /**
   * Serves MQTT on an accepted connection (either listener): the limits,
   * authentication and ACLs apply; an authorised `tls.TLSSocket` with a client
   * certificate authenticates as its CN (security/broker-security.ts).
   */
  handleConnection(socket: Socket): void {
    const aedes = this.#aedes
    if (aedes === undefined) {
      socket.destroy()
      return
    }
    this.#sockets.add(socket)
    const client = aedes.handle(socket)
    this.#limits.guard(client)
    socket.once('close', () => {
      this.#sockets.delete(socket)
      this.#options.access.security.disconnected(client as unknown as SecuredClient)
    })
  }

  /**
   * Runs `release` (which makes aedes write PUBACKs synchronously) with every
   * connection corked, so a group commit's acknowledgements leave as one
   * write per connection instead of one system call per message.
   */
  batchWrites(release: () => void): void {
    for (const socket of this.#sockets) socket.cork()
    try {
      release()
    } finally {
      for (const socket of this.#sockets) socket.uncork()
    }
  }

  #installTelemetryFastPath(aedes: Aedes): void {
    // The typings declare publish(packet, done); at run time it is publish(packet, client?, done?).
    type RoutePublish = (packet: PublishPacket, client: unknown, done?: (err?: Error) => void) => void
    const route = (aedes.publish as unknown as RoutePublish).bind(aedes)
    const skipRouting = (packet: AedesPublishPacket | PublishPacket) =>
      !this.#telemetryHasSubscribers && packet.retain !== true && packet.topic.startsWith(TELEMETRY_TOPIC_PREFIX)
    // aedes.publish(packet, client?, done?) is what the protocol handler calls after authorizePublish.
    aedes.publish = ((packet: PublishPacket, client: unknown, done?: (err?: Error) => void) => {
      const callback = typeof client === 'function' ? (client as (err?: Error) => void) : done
      if (skipRouting(packet) || this.#refusedPackets.has(packet)) {
        callback?.()
        return
      }
      route(packet, client, done)
    }) as unknown as Aedes['publish']
  }

  publish(topic: string, payload: string | Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const aedes = this.#aedes
    if (aedes === undefined) return Promise.reject(new Error('broker is not started'))
    return new Promise((resolve, reject) => {
      aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: options.qos ?? 0,
          retain: options.retain ?? false,
          dup: false,
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      )
    })
  }

  async close(): Promise<void> {
    const server = this.#server
    const tlsServer = this.#tlsServer
    const aedes = this.#aedes
    this.#server = undefined
    this.#tlsServer = undefined
    this.#aedes = undefined
    this.#options.access.stop()
    if (server !== undefined) {
      const closed = Promise.all(
        [server, tlsServer].map((listener) => (listener === undefined ? undefined : new Promise<void>((resolve) => listener.close(() => resolve())))),
      )
      // mqtt-packet corks a socket for each packet it writes and uncorks on
      // the next tick: let PUBACKs released by the final commit leave before
      // aedes tears the connections down, or publishers would re-send
      // messages that are already stored.
      await new Promise<void>((resolve) => setImmediate(resolve))
      await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()))
      for (const socket of this.#sockets) socket.destroy()
      await closed
    }
  }

  endpoint(): { url: string; port: number; tlsPort: number | null } {
    return { url: `mqtt://127.0.0.1:${this.#port}`, port: this.#port, tlsPort: this.#tlsPort }
  }

  describe(): string {
    const tls = this.#tlsPort === null ? '' : ` and mqtts://${this.#options.tls?.host ?? this.#options.host}:${this.#tlsPort}`
    return `embedded MQTT broker on mqtt://${this.#options.host}:${this.#port}${tls}`
  }

  limitStatus(): BrokerLimitStatus {
    return this.#limits.status()
  }

  info(): { kind: 'embedded'; url: string; connectedClients: number | null; connected: boolean } {
    return {
      kind: 'embedded',
      url: `mqtt://${this.#options.host}:${this.#port}`,
      connectedClients: this.#aedes?.connectedClients ?? 0,
      connected: this.#aedes !== undefined,
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** True when an MQTT subscription filter can match some `sensors/<id>/<metric>` topic. */
export function filterMayMatchTelemetry(filter: string): boolean {
  const first = filter.split('/', 1)[0]
  return first === '#' || first === '+' || first === TELEMETRY_TOPIC_PREFIX.slice(0, -1)
}
