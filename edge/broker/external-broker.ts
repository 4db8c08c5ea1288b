import mqtt, { type MqttClient } from 'mqtt'
import { CloudosError } from '../../shared/errors.js'
import { TELEMETRY_TOPIC_PREFIX } from '../../shared/telemetry.js'
import type { AckCallback } from '../ingest/ingest-pipeline.js'
import type { TelemetryBroker } from './telemetry-broker.js'

export interface ExternalBrokerOptions {
  url: string
  clientId: string
  onTelemetry: (topic: string, payload: Buffer, qos: number, done: AckCallback) => void
  /** Asks the pipeline to commit now rather than after its interval (see below). */
  requestPromptCommit: () => void
  log?: (message: string) => void
  connectTimeoutMs?: number
}

/**
 * Telemetry from an external broker (e.g. Mosquitto): the edge subscribes to
 * `sensors/#` at QoS 1 with a persistent session (clean: false, fixed client
 * id), so deliveries that were not acknowledged before a crash are sent again.
 *
 * mqtt.js hands deliveries over one at a time and sends the PUBACK from
 * handleMessage's callback; we call it only after the commit holding the
 * reading, so each delivery asks for a prompt commit instead of waiting out
 * the group-commit interval. That makes this path slower than the embedded
 * broker's (measured in docs/benchmarks.md) but keeps the same guarantee.
 */
export class ExternalBroker implements TelemetryBroker {
  readonly #options: ExternalBrokerOptions
  #client: MqttClient | undefined

  constructor(options: ExternalBrokerOptions) {
    this.#options = options
  }

  async start(): Promise<void> {
    const options = this.#options
    const client = mqtt.connect(options.url, {
      clientId: options.clientId,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
    })
    this.#client = client
    client.handleMessage = (packet, callback) => {
      if (!packet.topic.startsWith(TELEMETRY_TOPIC_PREFIX)) {
        callback()
        return
      }
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
      options.onTelemetry(packet.topic, payload, packet.qos, (err) => callback(err ?? undefined))
      if (packet.qos > 0) options.requestPromptCommit()
    }
    client.on('error', (err) => options.log?.(`external broker ${options.url}: ${err.message}`))
    client.on('reconnect', () => options.log?.(`reconnecting to external broker ${options.url}`))
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        client.end(true)
        reject(new CloudosError('EDGE_ERR_BROKER_UNREACHABLE', `cannot connect to external broker ${options.url}: ${err.message}`, { url: options.url }))
      }
      client.once('error', onError)
      client.once('connect', (connack) => {
        client.off('error', onError)
        // With a persistent session the broker still has our subscription.
        if (connack.sessionPresent) resolve()
        else client.subscribe(`${TELEMETRY_TOPIC_PREFIX}#`, { qos: 1 }, (err) => (err ? onError(err) : resolve()))
      })
    })
  }

  publish(topic: string, payload: string | Buffer, options: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    const client = this.#client
    if (client === undefined) return Promise.reject(new Error('broker is not started'))
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: options.qos ?? 0, retain: options.retain ?? false }, (err) => (err ? reject(err) : resolve()))
    })
  }

  async close(): Promise<void> {
    const client = this.#client
    this.#client = undefined
    if (client !== undefined) await client.endAsync()
  }

  /** Acknowledgements go to the external broker over one client connection: nothing to batch here. */
  batchWrites(release: () => void): void {
    release()
  }

  endpoint(): { url: string; port: null } {
    return { url: this.#options.url, port: null }
  }

  describe(): string {
    return `external MQTT broker ${this.#options.url}`
  }

  info(): { kind: 'external'; url: string; connectedClients: number | null; connected: boolean } {
    return { kind: 'external', url: this.#options.url, connectedClients: null, connected: this.#client?.connected ?? false }
  }
}
