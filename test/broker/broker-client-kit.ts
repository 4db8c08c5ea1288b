import type { MqttLimitsConfig } from '../../shared/config/edge-config-schema.js'
import { connect, type Socket } from 'node:net'
import type { MqttClient } from 'mqtt'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { getText } from '../helpers/http.js'

/** A raw MQTT 3.1.1 connection: what an attacker (or a broken sensor) opens, without a client library's manners. */
export interface RawConnection {
  socket: Socket
  /** The CONNACK return code, or null when the broker closed the connection without one. */
  connack: Promise<number | null>
  /** Resolves when the broker (or we) closed the connection. */
  closed: Promise<void>
}

export async function openRaw(port: number, connectPacket?: { clientId: string; keepalive: number; clean?: boolean }): Promise<RawConnection> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    closed.then(() => reject(new Error('closed before connecting')), () => {})
  })
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const connack = new Promise<number | null>((resolve) => {
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') resolve(packet.returnCode ?? 0)
    })
    void closed.then(() => resolve(null))
  })
  socket.on('data', (data) => parser.parse(data))
  if (connectPacket !== undefined) {
    socket.write(
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: connectPacket.clean ?? true, clientId: connectPacket.clientId, keepalive: connectPacket.keepalive }),
    )
  }
  return { socket, connack, closed }
}

/** The value of one sample in the edge's /metrics text (0 when absent). */
export async function metricValue(httpUrl: string, sample: string): Promise<number> {
  const text = (await getText(httpUrl, '/metrics')).body
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

export const limitHits = (httpUrl: string, limit: string) => metricValue(httpUrl, `cloudos_edge_mqtt_limit_hits_total{limit="${limit}"}`)

/**
 * Subscribes and resolves with the SUBACK return codes, 0x80 included (mqtt.js
 * turns any 0x80 into an error and drops the codes).
 */
export function subscribeCodes(client: MqttClient, filters: string[], qos: 0 | 1): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'suback') return
      client.off('packetreceive', onPacket)
      resolve((packet as { granted: number[] }).granted)
    }
    client.on('packetreceive', onPacket)
    client.subscribe(filters, { qos }, () => {})
  })
}

/** The fixed header and topic of a PUBLISH announcing `payloadBytes` of payload (MQTT 3.1.1 section 3.3), QoS 0. */
export function publishHeader(topic: string, payloadBytes: number, retain: boolean): Buffer {
  const topicField = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), Buffer.from(topic)])
  let remaining = topicField.length + payloadBytes
  const length: number[] = []
  do {
    let byte = remaining % 128
    remaining = Math.floor(remaining / 128)
    if (remaining > 0) byte |= 0x80
    length.push(byte)
  } while (remaining > 0)
  return Buffer.concat([Buffer.from([retain ? 0x31 : 0x30, ...length]), topicField])
}

/**
 * Sends a PUBLISH announcing `payloadBytes`, then streams the payload in 1 MiB
 * chunks (never held whole in this process) until all is sent or the broker
 * closes the connection. Resolves with the payload bytes the socket accepted.
 */
export async function streamLargePublish(connection: RawConnection, topic: string, payloadBytes: number, retain: boolean): Promise<number> {
  const { socket } = connection
  let closed = false
  void connection.closed.then(() => (closed = true))
  const chunk = Buffer.alloc(1024 * 1024, 0x61)
  socket.write(publishHeader(topic, payloadBytes, retain))
  let sent = 0
  while (sent < payloadBytes && !closed) {
    const size = Math.min(chunk.length, payloadBytes - sent)
    const flushed = socket.write(size === chunk.length ? chunk : chunk.subarray(0, size))
    sent += size
    if (!flushed) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), connection.closed])
  }
  return sent
}

/**
 * Some mqtt.limits keys for a test edge's config overrides (which type each
 * section's keys, not the keys of a nested object); the schema fills the rest.
 */
export function someLimits(limits: Partial<MqttLimitsConfig>): MqttLimitsConfig {
  return limits as MqttLimitsConfig
}
