import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt'

/** Connects an mqtt.js client (MQTT 3.1.1, no automatic reconnect unless asked). */
export function connectMqtt(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options })
}

/**
 * Ends a client without waiting for in-flight messages (their callbacks get
 * an error); never throws, never hangs. mqtt.js resolves `end` on the
 * socket's 'close' event, which never comes again if the socket was already
 * closed (say, the broker process was killed): then it is not waited for.
 */
export async function closeQuietly(client: MqttClient | undefined): Promise<void> {
  if (client === undefined) return
  const stream = client.stream as (NodeJS.ReadableStream & { closed?: boolean; destroyed?: boolean }) | undefined
  const alreadyClosed = stream === undefined || stream.closed === true || stream.destroyed === true
  const ended = client.endAsync(true).catch(() => undefined)
  if (alreadyClosed) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))])
  clearTimeout(timer)
}

export interface Message {
  topic: string
  payload: Buffer
  retain: boolean
  qos: number
}

/** Collects every message the client receives (from now on). */
export function collectMessages(client: MqttClient): Message[] {
  const messages: Message[] = []
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, retain: packet.retain, qos: packet.qos })
  })
  return messages
}

export interface PublishOutcome {
  /** Indexes of messages whose publish callback succeeded (PUBACK for QoS 1, written for QoS 0). */
  acked: number[]
  failed: number
}

/**
 * Publishes all messages at once (pipelined: mqtt.js does not wait for one
 * PUBACK before sending the next) and resolves when every callback has run.
 */
export function publishAll(
  client: MqttClient,
  messages: readonly { topic: string; payload: string | Buffer }[],
  options: IClientPublishOptions,
  onAck?: (index: number) => void,
): Promise<PublishOutcome> {
  const outcome: PublishOutcome = { acked: [], failed: 0 }
  if (messages.length === 0) return Promise.resolve(outcome)
  let pending = messages.length
  return new Promise((resolve) => {
    messages.forEach((message, index) => {
      client.publish(message.topic, message.payload, options, (err) => {
        if (err) outcome.failed++
        else {
          outcome.acked.push(index)
          onAck?.(index)
        }
        if (--pending === 0) resolve(outcome)
      })
    })
  })
}

/**
 * Publishes messages in order keeping at most `window` of them unacknowledged
 * (a pipeline, like a real publisher with a receive window). Unlike
 * `publishAll`, this never queues thousands of QoS 0 packets inside mqtt.js at
 * once, which mqtt.js handles in quadratic time. Sending stops at the first
 * failure or when the connection closes; resolves once every message sent has
 * been acknowledged or has failed (end the client to fail those in flight).
 */
export function publishWindowed(
  client: MqttClient,
  messages: readonly { topic: string; payload: string | Buffer }[],
  options: IClientPublishOptions & { window?: number },
  onAck?: (index: number) => void,
): Promise<PublishOutcome> {
  const { window = 500, ...publishOptions } = options
  const outcome: PublishOutcome = { acked: [], failed: 0 }
  let sent = 0
  let settled = 0
  let stopped = false
  return new Promise((resolve) => {
    let finished = false
    const finish = () => {
      if (finished) return
      finished = true
      client.off('close', onClose)
      client.off('end', finish)
      resolve(outcome)
    }
    const onClose = () => {
      stopped = true
      if (settled === sent) finish()
    }
    client.on('close', onClose)
    // mqtt.js has called back everything it ever will once the client has ended.
    client.once('end', finish)
    const send = () => {
      if (stopped || sent >= messages.length) return
      if (!client.connected) {
        stopped = true
        return
      }
      const index = sent++
      const message = messages[index] as { topic: string; payload: string | Buffer }
      client.publish(message.topic, message.payload, publishOptions, (err) => {
        settled++
        if (err) {
          outcome.failed++
          stopped = true
        } else {
          outcome.acked.push(index)
          onAck?.(index)
        }
        if (settled === messages.length || (stopped && settled === sent)) finish()
        else if (!err) send()
      })
    }
    if (messages.length === 0) finish()
    for (let i = 0; i < window; i++) send()
  })
}

/** `{"ts":..,"value":..}` as the sensors send it. */
export function readingPayload(ts: number | undefined, value: number): string {
  return ts === undefined ? JSON.stringify({ value }) : JSON.stringify({ ts, value })
}
