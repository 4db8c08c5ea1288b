import { connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { benchNow } from '../measure/bench-clock.js'
import type { EncodedPublishes } from './encoded-publishes.js'
import type { PublisherSecurity } from './secure-listener.js'

/**
 * A lean MQTT 3.1.1 publisher over one raw TCP socket, for load generation.
 *
 * A general client (mqtt.js) spends its CPU on per-message bookkeeping and
 * tops out near 20k messages/s here, so the benchmark would measure the
 * client, not the broker; this one writes pre-encoded packets in slices of up
 * to `CHUNK_BYTES`, honours socket backpressure ('drain'), and for QoS 1 keeps
 * a bounded window of unacknowledged message ids.
 */
export interface PublishOutcome {
  /** When the first byte of the first PUBLISH was handed to the socket (bench clock). */
  startedAt: number
  /** When the last PUBLISH was handed to the kernel. */
  writtenAt: number
  /** QoS 0: = writtenAt. QoS 1: when the last PUBACK arrived. */
  finishedAt: number
  messages: number
  bytes: number
}

const CHUNK_BYTES = 64 * 1024
const MAX_MESSAGE_ID = 0xffff

export class RawMqttPublisher {
  readonly #socket: Socket
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 })
  #onPacket: (packet: Packet) => void = () => {}
  #failure: ((err: Error) => void) | undefined
  #closedError: Error | undefined

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('data', (data) => this.#parser.parse(data))
    this.#parser.on('packet', (packet: Packet) => this.#onPacket(packet))
    this.#parser.on('error', (err: Error) => this.#fail(new Error(`malformed packet from the broker: ${err.message}`)))
    socket.on('error', (err) => this.#fail(err))
    socket.on('close', () => this.#fail(new Error('the broker closed the connection')))
  }

  /** Connects and completes the MQTT handshake (CONNECT, CONNACK accepted). */
  static async connect(options: { host: string; port: number; clientId: string; keepaliveSeconds?: number; security?: PublisherSecurity }): Promise<RawMqttPublisher> {
    const security = options.security
    const socket =
      security === undefined
        ? connect({ host: options.host, port: options.port })
        : connectTls({ host: options.host, port: options.port, ca: security.tls.caPem, servername: security.tls.servername })
    await new Promise<void>((resolve, reject) => {
      socket.once(security === undefined ? 'connect' : 'secureConnect', resolve)
      socket.once('error', reject)
    })
    const publisher = new RawMqttPublisher(socket)
    await new Promise<void>((resolve, reject) => {
      publisher.#failure = reject
      publisher.#onPacket = (packet) => {
        if (packet.cmd !== 'connack') return
        // [MQTT-3.2.2-5] return code 0 = accepted; anything else closes the connection.
        if (packet.returnCode === 0) resolve()
        else reject(new Error(`the broker refused the connection (CONNACK return code ${String(packet.returnCode)})`))
      }
      // Keep-alive is long instead of 0: brokers may refuse 0 (Mosquitto's max_keepalive);
      // no run lasts that long, so no PINGREQ is needed.
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: options.clientId,
          clean: true,
          keepalive: options.keepaliveSeconds ?? 900,
          ...(security?.username === undefined ? {} : { username: security.username }),
          ...(security?.password === undefined ? {} : { password: Buffer.from(security.password) }),
        }),
      )
    })
    return publisher
  }

  /** Sends every packet; resolves when written (QoS 0) or acknowledged (QoS 1). */
  publishAll(encoded: EncodedPublishes, inflightWindow: number): Promise<PublishOutcome> {
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError)
    return encoded.qos === 0 ? this.#publishQos0(encoded) : this.#publishQos1(encoded, inflightWindow)
  }

  /** Sends DISCONNECT and closes the socket once it is flushed. */
  async disconnect(): Promise<void> {
    this.#failure = undefined
    const socket = this.#socket
    if (socket.destroyed) return
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end(mqttPacket.generate({ cmd: 'disconnect' }))
      setTimeout(() => socket.destroy(), 2000).unref()
    })
  }

  #fail(err: Error): void {
    this.#closedError ??= err
    const failure = this.#failure
    this.#failure = undefined
    failure?.(err)
  }

  #publishQos0(encoded: EncodedPublishes): Promise<PublishOutcome> {
    const { bytes, starts, count } = encoded
    const socket = this.#socket
    return new Promise((resolve, reject) => {
      this.#failure = reject
      const startedAt = benchNow()
      let next = 0
      const finish = () => {
        const writtenAt = benchNow()
        this.#failure = undefined
        resolve({ startedAt, writtenAt, finishedAt: writtenAt, messages: count, bytes: bytes.length })
      }
      const pump = (): void => {
        while (next < count) {
          const first = next
          next = chunkEnd(starts, first, count)
          const slice = bytes.subarray(starts[first] as number, starts[next] as number)
          const flowing = next === count ? socket.write(slice, () => finish()) : socket.write(slice)
          if (!flowing && next < count) {
            socket.once('drain', pump)
            return
          }
        }
      }
      if (count === 0) finish()
      else pump()
    })
  }

  #publishQos1(encoded: EncodedPublishes, inflightWindow: number): Promise<PublishOutcome> {
    const { bytes, starts, messageIdOffsets, count } = encoded
    const socket = this.#socket
    const window = Math.max(1, Math.min(inflightWindow, MAX_MESSAGE_ID - 1))
    // Ids are recycled only after their PUBACK [MQTT-2.3.1-3].
    const inflightIds = new Uint8Array(MAX_MESSAGE_ID + 1)
    return new Promise((resolve, reject) => {
      this.#failure = reject
      const startedAt = benchNow()
      let writtenAt = startedAt
      let next = 0
      let inflight = 0
      let acked = 0
      let idCursor = 0
      let waitingForDrain = false
      let pumpScheduled = false

      const takeId = (): number => {
        for (let tries = 0; tries < MAX_MESSAGE_ID; tries++) {
          idCursor = idCursor === MAX_MESSAGE_ID ? 1 : idCursor + 1
          if (inflightIds[idCursor] === 0) return idCursor
        }
        return 0
      }
      const pump = (): void => {
        pumpScheduled = false
        while (!waitingForDrain && next < count && inflight < window) {
          const first = next
          const firstByte = starts[first] as number
          while (next < count && inflight < window && (next === first || (starts[next + 1] as number) - firstByte <= CHUNK_BYTES)) {
            const id = takeId()
            if (id === 0) break
            bytes.writeUInt16BE(id, messageIdOffsets[next] as number)
            inflightIds[id] = 1
            inflight++
            next++
          }
          if (next === first) return
          const flowing = socket.write(bytes.subarray(firstByte, starts[next] as number))
          if (next === count) writtenAt = benchNow()
          if (!flowing) {
            waitingForDrain = true
            socket.once('drain', () => {
              waitingForDrain = false
              pump()
            })
          }
        }
      }
      this.#onPacket = (packet) => {
        if (packet.cmd !== 'puback') return
        const id = packet.messageId ?? 0
        if (inflightIds[id] !== 1) return
        inflightIds[id] = 0
        inflight--
        acked++
        if (acked === count) {
          this.#failure = undefined
          resolve({ startedAt, writtenAt, finishedAt: benchNow(), messages: count, bytes: bytes.length })
          return
        }
        // Acks come in bursts (one TCP read holds many): refill the window once per burst.
        if (!pumpScheduled) {
          pumpScheduled = true
          setImmediate(pump)
        }
      }
      if (count === 0) resolve({ startedAt, writtenAt, finishedAt: startedAt, messages: 0, bytes: 0 })
      else pump()
    })
  }
}

/** The index after the last packet of the slice that starts at `first` (at least one packet). */
function chunkEnd(starts: Uint32Array, first: number, count: number): number {
  const limit = (starts[first] as number) + CHUNK_BYTES
  let end = first + 1
  while (end < count && (starts[end + 1] as number) <= limit) end++
  return end
}
