/**
 * Entry point of one publisher process (forked by `PublisherFleet`): receives
 * its job, pre-encodes its messages and connects, reports ready, publishes on
 * 'go', reports the outcome, and stays connected until told to exit (so a
 * broker still draining QoS 0 messages is not disturbed by a disconnect).
 */
import { encodePublishes } from './encoded-publishes.js'
import type { PublisherJob, ToPublisher, FromPublisher } from './ingest-ipc.js'
import { sendToParent } from '../processes/child-ipc.js'
import { RawMqttPublisher } from './raw-mqtt-publisher.js'
import { workloadMessages } from './telemetry-workload.js'

let publisher: RawMqttPublisher | undefined
let start: (() => void) | undefined

process.on('message', (message: ToPublisher) => {
  switch (message.type) {
    case 'job':
      prepare(message.job).catch(fail)
      break
    case 'go':
      start?.()
      break
    case 'exit':
      void exit()
      break
  }
})
// The orchestrator died or closed the channel: never linger.
process.on('disconnect', () => process.exit(0))

async function prepare(job: PublisherJob): Promise<void> {
  const encodeStarted = performance.now()
  const encoded = encodePublishes(workloadMessages(job.workload), job.workload.messages, job.qos)
  const encodeMs = performance.now() - encodeStarted
  publisher = await RawMqttPublisher.connect({ host: job.host, port: job.port, clientId: job.clientId, ...(job.security === undefined ? {} : { security: job.security }) })
  const connected = publisher
  start = () => {
    start = undefined
    connected.publishAll(encoded, job.inflightWindow).then((outcome) => sendToParent<FromPublisher>({ type: 'done', outcome }), fail)
  }
  sendToParent<FromPublisher>({ type: 'ready', messages: encoded.count, encodedBytes: encoded.bytes.length, encodeMs })
}

async function exit(): Promise<void> {
  await publisher?.disconnect().catch(() => {})
  process.exit(0)
}

function fail(err: unknown): void {
  sendToParent<FromPublisher>({ type: 'error', message: (err as Error).message ?? String(err) })
}
