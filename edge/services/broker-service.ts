import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Logger } from '../../shared/log/logger.js'
import type { AckCallback } from '../ingest/ingest-pipeline.js'
import { EmbeddedBroker } from '../broker/embedded-broker.js'
import { BrokerAccessControl } from '../broker/security/broker-access-control.js'
import type { TelemetryBroker } from '../broker/telemetry-broker.js'
import type { EdgeService } from './edge-service.js'

export interface CreateBrokerOptions {
  mqtt: EdgeConfig['mqtt']
  /** Where the default password file lives (mqtt.passwordFile unset). */
  dataDir: string
  onTelemetry: (topic: string, payload: Buffer, qos: number, done: AckCallback) => void
  requestPromptCommit: () => void
  log: Logger
}

/** The embedded broker, or a client of the external one named by `mqtt.brokerUrl`. */
export async function createBroker(options: CreateBrokerOptions): Promise<TelemetryBroker> {
  const { mqtt, onTelemetry, log } = options
  if (mqtt.brokerUrl === undefined) {
    // Refuses here, before anything starts, a public listener (plain or TLS) without authentication or a bad password/ACL file.
    const tlsOn = mqtt.tls.certFile !== undefined
    const access = new BrokerAccessControl({
      mqtt,
      dataDir: options.dataDir,
      log,
      extraListenerHosts: tlsOn ? [mqtt.tls.host ?? mqtt.host] : [],
      clientCertificates: tlsOn && mqtt.tls.requireClientCert,
    })
    return new EmbeddedBroker({ host: mqtt.host, port: mqtt.port, limits: mqtt.limits, tls: mqtt.tls, onTelemetry, access, log: (m) => log.warn(m) })
  }
  // Loaded only when used: mqtt.js adds ~15 MB of resident memory.
  const { ExternalBroker } = await import('../broker/external-broker.js')
  return new ExternalBroker({ url: mqtt.brokerUrl, clientId: mqtt.clientId, onTelemetry, requestPromptCommit: options.requestPromptCommit, log: (m) => log.warn(m) })
}

/**
 * Where telemetry comes in. Owns `mqtt` (all of it needs a restart). Its stop
 * commits what is pending first, so the QoS 1 acknowledgements still reach
 * the connected clients, and only then closes the broker; the ingest
 * service's stop (next) makes the final commit.
 */
export class BrokerService implements EdgeService {
  readonly name = 'broker'
  readonly sections = ['mqtt'] as const
  readonly broker: TelemetryBroker
  readonly #commitPending: () => void
  readonly #log: Logger

  constructor(broker: TelemetryBroker, commitPending: () => void, log: Logger) {
    this.broker = broker
    this.#commitPending = commitPending
    this.#log = log
  }

  start(): Promise<void> {
    return this.broker.start()
  }

  async stop(): Promise<void> {
    this.#commitPending()
    await this.broker.close().catch((err: Error) => this.#log.warn('closing the broker failed', { error: err.message }))
  }
}
