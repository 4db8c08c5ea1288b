import type { BrokerLimitStatus } from './limits/broker-limits.js'

/**
 * Where telemetry comes from: the embedded broker (aedes, default) or an
 * external one (e.g. Mosquitto) the edge subscribes to. Both hand each
 * `sensors/...` message to the ingest pipeline and acknowledge it when the
 * pipeline says so.
 */
export interface TelemetryBroker {
  /** Starts listening or connecting; resolves once telemetry can flow. */
  start(): Promise<void>
  /** Publishes a message (alerts, commands) to the broker's clients. */
  publish(topic: string, payload: string | Buffer, options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>
  /** Stops taking messages; existing connections are closed. */
  close(): Promise<void>
  /** A short description for logs and the demo banner, e.g. "embedded mqtt://0.0.0.0:1883". */
  describe(): string
  /**
   * Runs `release` (which lets the broker send a group commit's
   * acknowledgements) so they leave with as few writes as it can manage: the
   * embedded broker corks its connections; an external broker just calls it.
   */
  batchWrites(release: () => void): void
  /** Where sensors connect: the embedded broker's loopback URL and bound port, or the external broker's URL (no local port). */
  endpoint(): { url: string; port: number | null; tlsPort?: number | null }
  /** The embedded broker's limits (mqtt.limits): hits, what degrades health, what is held. Absent for an external broker. */
  limitStatus?(): BrokerLimitStatus
  /** Broker facts for /metrics and /v1/stats. */
  info(): { kind: 'embedded' | 'external'; url: string; connectedClients: number | null; connected: boolean }
  /** Connections, publishes, subscriptions and deliveries refused by authentication or ACL, per reason (embedded broker only). */
  accessDenials?(): Readonly<Record<string, number>>
}
