import type { QoS } from 'mqtt-packet'
import type { PublishOutcome } from './raw-mqtt-publisher.js'
import type { PublisherSecurity } from './secure-listener.js'
import type { WorkloadSpec } from './telemetry-workload.js'

/**
 * Messages between the benchmark orchestrator and its child processes
 * (`child_process.fork` IPC channel, JSON serialised).
 */

export interface PublisherJob {
  host: string
  port: number
  clientId: string
  qos: QoS
  workload: WorkloadSpec
  inflightWindow: number
  /** Connect through the secure listener (TLS, and credentials when set). */
  security?: PublisherSecurity
}

/** Orchestrator -> publisher. */
export type ToPublisher = { type: 'job'; job: PublisherJob } | { type: 'go' } | { type: 'exit' }

/** Publisher -> orchestrator. */
export type FromPublisher =
  | { type: 'ready'; messages: number; encodedBytes: number; encodeMs: number }
  | { type: 'done'; outcome: PublishOutcome }
  | { type: 'error'; message: string }

export interface SubscriberJob {
  brokerUrl: string
  qos: QoS
  dbFile: string
  /** Commit when this many rows wait... */
  flushRows: number
  /** ...or when the oldest waiting row is this old. */
  flushIntervalMs: number
}

/** Orchestrator -> baseline subscriber. */
export type ToSubscriber = { type: 'job'; job: SubscriberJob } | { type: 'exit' }

/** Baseline subscriber -> orchestrator. */
export type FromSubscriber =
  | { type: 'ready' }
  /** After each transaction: readings committed so far, and when (bench clock). */
  | { type: 'committed'; committed: number; at: number }
  | { type: 'error'; message: string }
