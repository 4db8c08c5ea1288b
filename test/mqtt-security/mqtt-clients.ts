import { once } from 'node:events'
import { createConnection } from 'node:net'
import type { IClientOptions, ISubscriptionMap, MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { MOSQUITTO_PUB } from '../harness/mosquitto.js'
import type { TestEdge } from '../harness/in-process-edge.js'
import { getText } from '../helpers/http.js'
import { connectMqtt } from '../helpers/mqtt-client.js'
import { run, type ProcessResult } from '../helpers/processes.js'

export const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub'

/** The return codes of the SUBACK, one per filter in order (MQTT.js rejects when one is 0x80; the packet is on the error). */
export async function subackCodes(client: MqttClient, subscriptions: ISubscriptionMap | string): Promise<number[]> {
  try {
    return (await client.subscribeAsync(subscriptions)).map((g) => g.qos)
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted
    if (granted === undefined) throw err
    return granted
  }
}

/** cloudos_edge_mqtt_denials_total from the edge's /metrics, by reason. */
export async function denials(edge: TestEdge): Promise<Record<string, number>> {
  const metrics = (await getText(edge.endpoints.httpUrl, '/metrics')).body
  return Object.fromEntries([...metrics.matchAll(/^cloudos_edge_mqtt_denials_total\{reason="([a-z_]+)"\} (\d+)$/gm)].map((m) => [m[1] as string, Number(m[2])]))
}

/** The CONNACK return code an MQTT.js connection gets (0: accepted; the client is closed again either way). */
export async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await connectMqtt(url, options)
    await client.endAsync(true)
    return 0
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'number') return code
    throw err
  }
}

/** Debian's mosquitto_pub with credentials (a third-party client). No -i: mosquitto_pub then sends a zero-length client id. */
export function mosquittoPubAs(
  port: number,
  credentials: { username?: string; password?: string },
  topic: string,
  message: string,
  options: { qos?: 0 | 1 | 2; retain?: boolean; extra?: string[] } = {},
): Promise<ProcessResult> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-t', topic, '-m', message, '-q', String(options.qos ?? 1)]
  if (credentials.username !== undefined) args.push('-u', credentials.username)
  if (credentials.password !== undefined) args.push('-P', credentials.password)
  if (options.retain) args.push('-r')
  args.push(...(options.extra ?? []))
  return run(MOSQUITTO_PUB, args, { timeoutMs: 10_000 })
}

/** mosquitto_sub for `seconds` (-W), printing `topic payload` lines (-v); exit 27 is its timeout. */
export function mosquittoSubAs(port: number, credentials: { username?: string; password?: string }, filter: string, seconds: number, extra: string[] = []): Promise<ProcessResult> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-t', filter, '-v', '-W', String(seconds)]
  if (credentials.username !== undefined) args.push('-u', credentials.username)
  if (credentials.password !== undefined) args.push('-P', credentials.password)
  args.push(...extra)
  return run(MOSQUITTO_SUB, args, { timeoutMs: (seconds + 10) * 1000 })
}

/** A UTF-8 string field: two-byte length, then the bytes (MQTT 3.1.1 section 1.5.3). */
function field(text: string): Buffer {
  const body = Buffer.from(text, 'utf8')
  return Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body])
}

/**
 * Sends one hand-encoded CONNECT (MQTT 3.1.1 section 3.1) on a bare TCP
 * socket and resolves with the CONNACK return code, or -1 when the broker
 * closed without one. For what MQTT.js, mqtt-packet and mosquitto_pub all
 * refuse to send: a zero-length client id with clean session 0.
 */
export async function rawConnackCode(port: number, connect: { clientId: string; clean: boolean; username?: string; password?: string }): Promise<number> {
  const flags = (connect.clean ? 0x02 : 0) | (connect.username === undefined ? 0 : 0x80) | (connect.password === undefined ? 0 : 0x40)
  const body = Buffer.concat([
    field('MQTT'),
    Buffer.from([0x04, flags, 0x00, 30]),
    field(connect.clientId),
    ...(connect.username === undefined ? [] : [field(connect.username)]),
    ...(connect.password === undefined ? [] : [field(connect.password)]),
  ])
  const socket = createConnection({ host: '127.0.0.1', port })
  try {
    await once(socket, 'connect')
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]))
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    return await new Promise<number>((resolve) => {
      parser.on('packet', (packet) => resolve(packet.cmd === 'connack' ? (packet.returnCode ?? 0) : -1))
      socket.on('data', (data) => parser.parse(data))
      socket.once('close', () => resolve(-1))
    })
  } finally {
    socket.destroy()
  }
}
