import { Counter, Gauge, type Registry } from 'prom-client'
import type { BrokerLimitStatus } from '../broker/limits/broker-limits.js'
import { BROKER_LIMIT_NAMES } from '../broker/limits/limit-hits.js'

/**
 * The embedded broker's limits in /metrics: hits per limit (refusals,
 * disconnections, adjustments) and what clients hold against each bound.
 * Read at scrape time from the broker's own counters.
 */
export function registerBrokerLimitMetrics(registry: Registry, read: () => BrokerLimitStatus | undefined): void {
  new Counter({
    name: 'cloudos_edge_mqtt_limit_hits_total',
    help: 'MQTT clients refused, disconnected or adjusted by a broker limit (mqtt.limits.*), by limit.',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      this.reset()
      const status = read()
      if (status === undefined) return
      for (const limit of BROKER_LIMIT_NAMES) this.inc({ limit }, status.hits[limit])
    },
  })
  const gauge = (name: string, help: string, pick: (status: BrokerLimitStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const status = read()
        if (status !== undefined) this.set(pick(status))
      },
    })
  gauge('cloudos_edge_mqtt_connections_open', 'TCP connections open on the broker listeners (bound by mqtt.limits.maxConnections).', (s) => s.openConnections)
  gauge('cloudos_edge_mqtt_retained_messages', 'Retained messages kept (bound by mqtt.limits.maxRetainedMessages).', (s) => s.retainedMessages)
  gauge('cloudos_edge_mqtt_retained_bytes', 'Payload bytes of the retained messages kept.', (s) => s.retainedBytes)
  gauge('cloudos_edge_mqtt_queued_messages', 'QoS 1/2 messages queued for persistent sessions (each bound by mqtt.limits.maxQueuedMessages).', (s) => s.queuedMessages)
  gauge('cloudos_edge_mqtt_queued_bytes', 'Payload bytes queued for persistent sessions (bound by mqtt.limits.maxQueuedBytes).', (s) => s.queuedBytes)
  gauge('cloudos_edge_mqtt_subscriptions', 'Subscriptions held by connected clients (each bound by mqtt.limits.maxSubscriptionsPerClient).', (s) => s.subscriptions)
}
