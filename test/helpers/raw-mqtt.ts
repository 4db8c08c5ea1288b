import { connect, type Socket } from 'node:net'

/** MQTT's variable-length "remaining length" field. */
function remainingLength(n: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0)
  return Buffer.from(bytes)
}

function utf8Field(text: string): Buffer {
  const body = Buffer.from(text, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(body.length)
  return Buffer.concat([length, body])
}

/** A QoS 0 PUBLISH packet (MQTT 3.1.1 §3.3). */
export function qos0Publish(topic: string, payload: string | Buffer): Buffer {
  const variable = Buffer.concat([utf8Field(topic), typeof payload === 'string' ? Buffer.from(payload) : payload])
  return Buffer.concat([Buffer.from([0x30]), remainingLength(variable.length), variable])
}

/**
 * A bare MQTT 3.1.1 connection (clean session) for flooding a broker with
 * pre-encoded QoS 0 packets in one socket write, faster than any client
 * library can encode them: the publisher is then never the bottleneck.
 */
export async function connectRaw(port: number, clientId: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const variable = Buffer.concat([utf8Field('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c]), utf8Field(clientId)])
  socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(variable.length), variable]))
  const connack = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve)
    socket.once('error', reject)
  })
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`CONNACK refused: ${connack.toString('hex')}`)
  return socket
}
