import mqttPacket, { type QoS } from 'mqtt-packet'
import type { WorkloadMessage } from './telemetry-workload.js'

/**
 * A publisher's PUBLISH packets, encoded before the timed phase and laid end
 * to end in one buffer, so that sending is slicing and writing (no JSON, no
 * per-message allocation while the clock runs).
 */
export interface EncodedPublishes {
  qos: QoS
  /** All packets back to back. */
  bytes: Buffer
  /** Packet i is `bytes[starts[i], starts[i + 1])`; `starts` has count + 1 entries. */
  starts: Uint32Array
  /** For QoS 1: where packet i's 2-byte message id sits in `bytes` (patched when sent). */
  messageIdOffsets: Uint32Array
  count: number
}

const PLACEHOLDER_MESSAGE_ID = 1

export function encodePublishes(messages: Iterable<WorkloadMessage>, count: number, qos: QoS): EncodedPublishes {
  const packets: Buffer[] = new Array<Buffer>(count)
  const messageIdOffsets = new Uint32Array(qos > 0 ? count : 0)
  const starts = new Uint32Array(count + 1)
  let total = 0
  let i = 0
  for (const message of messages) {
    if (i >= count) break
    const payload = Buffer.from(message.payload)
    const packet = mqttPacket.generate({
      cmd: 'publish',
      topic: message.topic,
      payload,
      qos,
      retain: false,
      dup: false,
      ...(qos > 0 ? { messageId: PLACEHOLDER_MESSAGE_ID } : {}),
    })
    packets[i] = packet
    starts[i] = total
    // [MQTT-3.3.2] The packet identifier follows the topic name and precedes the payload.
    if (qos > 0) messageIdOffsets[i] = total + packet.length - payload.length - 2
    total += packet.length
    i++
  }
  if (i !== count) throw new Error(`workload produced ${i} messages, expected ${count}`)
  starts[count] = total
  if (total > 0xffff_ffff) throw new Error('pre-encoded workload exceeds 4 GiB; use fewer readings per publisher')
  return { qos, bytes: Buffer.concat(packets, total), starts, messageIdOffsets, count }
}
