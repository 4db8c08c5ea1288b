/**
 * Where the simulator's messages go. The MQTT implementation is the real one;
 * the in-memory one lets the publishing loops be tested without a broker.
 */
export interface TelemetryTransport {
  /** Human-readable destination, e.g. `mqtt://127.0.0.1:1883`. */
  readonly destination: string
  /**
   * Resolves when the message is safe with the broker: QoS 1 on PUBACK; QoS 0
   * once written to the socket (after 'drain' when the socket buffer was full,
   * which is how QoS 0 feels TCP backpressure). Rejects if it cannot be sent.
   */
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>
  connection(): ConnectionStats
  /** Disconnects at once; messages still unacknowledged are abandoned. */
  close(): Promise<void>
}

export interface ConnectionStats {
  connected: boolean
  /** Times an established connection was lost. */
  disconnects: number
  /** Times the connection came back after a loss. */
  reconnects: number
  lastError: string | undefined
}
