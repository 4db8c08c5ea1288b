import type { MqttClient } from 'mqtt'
import { SimulatorError } from './simulator-errors.js'
import type { ConnectionOptions } from './simulator-options.js'
import type { ConnectionStats, TelemetryTransport } from './telemetry-transport.js'

export interface MqttTransportOptions {
  url: string
  clientId?: string
  /** How long the first connection may take, retries included. Default 10 000. */
  connectTimeoutMs?: number
  /** Told when the connection drops and when it comes back. */
  onConnectionChange?: (event: 'lost' | 'restored', stats: ConnectionStats) => void
}

const RECONNECT_PERIOD_MS = 1000

/**
 * Publishes through mqtt.js. mqtt.js reconnects by itself and keeps QoS 1
 * messages that were not acknowledged in its outgoing store, re-sending them
 * after the reconnect, so a broker restart loses nothing; this class only
 * counts the drops and recoveries.
 */
class MqttTransport implements TelemetryTransport {
  readonly destination: string
  readonly #client: MqttClient
  readonly #stats: ConnectionStats = { connected: false, disconnects: 0, reconnects: 0, lastError: undefined }
  #everConnected = false
  #closing = false

  constructor(client: MqttClient, options: MqttTransportOptions) {
    this.destination = options.url
    this.#client = client
    const stats = this.#stats
    // Without an 'error' listener mqtt.js's errors (ECONNREFUSED while retrying) would be thrown.
    client.on('error', (err) => {
      stats.lastError = err.message
    })
    // A successful CONNACK, not 'connect': after a reconnect mqtt.js emits 'connect' only once it
    // has re-sent its whole outgoing store, one acknowledged message at a time.
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack' || (packet.returnCode ?? packet.reasonCode ?? 0) !== 0) return
      stats.connected = true
      if (this.#everConnected) {
        stats.reconnects++
        options.onConnectionChange?.('restored', { ...stats })
      }
      this.#everConnected = true
    })
    client.on('close', () => {
      if (!stats.connected) return
      stats.connected = false
      if (this.#closing) return
      stats.disconnects++
      options.onConnectionChange?.('lost', { ...stats })
    })
  }

  /** Resolves on the first CONNACK; gives up (and disconnects) after `timeoutMs` of retrying. */
  waitForConnection(timeoutMs: number): Promise<void> {
    const client = this.#client
    if (client.connected) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        client.off('connect', onConnect)
        void this.close()
        const why = this.#stats.lastError ?? 'no answer'
        reject(new SimulatorError('SIM_ERR_BROKER_UNREACHABLE', `cannot connect to ${this.destination} within ${timeoutMs} ms (${why})`, { url: this.destination }))
      }, timeoutMs)
      client.once('connect', onConnect)
    })
  }

  publish(topic: string, payload: string, qos: 0 | 1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve()))
    })
  }

  connection(): ConnectionStats {
    return { ...this.#stats }
  }

  close(): Promise<void> {
    this.#closing = true
    return new Promise((resolve) => this.#client.end(true, () => resolve()))
  }
}

export async function connectMqttTransport(options: MqttTransportOptions): Promise<TelemetryTransport> {
  // Imported on use so that in-process callers with their own transport never load mqtt.js.
  const { default: mqtt } = await import('mqtt')
  const client = mqtt.connect(options.url, {
    clientId: options.clientId ?? `cloudos-sim-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: 10_000,
    keepalive: 30,
  })
  const transport = new MqttTransport(client, options)
  await transport.waitForConnection(options.connectTimeoutMs ?? 10_000)
  return transport
}

/** The caller's transport if given (the caller closes it), else a new MQTT connection (closed at the end). */
export async function openTransport(options: ConnectionOptions): Promise<{ transport: TelemetryTransport; owned: boolean }> {
  if (options.transport !== undefined) return { transport: options.transport, owned: false }
  const transport = await connectMqttTransport({
    url: options.mqttUrl as string,
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs,
    onConnectionChange: options.onConnectionChange,
  })
  return { transport, owned: true }
}
