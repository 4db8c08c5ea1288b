import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import type { MqttTlsConfig } from '../../shared/config/edge-config-schema.js'
import { CloudosError } from '../../shared/errors.js'

export interface TlsListenerHandlers {
  /** Runs on the raw TCP socket before the handshake: false means it was refused (and destroyed). */
  admit(socket: Socket): boolean
  /** A client that completed the handshake: hand it to the broker. */
  onSecureSocket(socket: TLSSocket): void
  /** Bounds a handshake that does not finish (a client that opens TLS and goes silent). */
  handshakeTimeoutMs: number
}

/**
 * The broker's TLS listener (MQTT over TLS, port 8883 by IANA): a node:tls
 * server from the PEM files named in mqtt.tls, serving the same aedes instance
 * as the plain listener. With `caFile` the server asks for a client
 * certificate; with `requireClientCert` it refuses a client without one signed
 * by that CA during the handshake (mTLS). Without `requireClientCert` a client
 * certificate is optional, and one that does not verify still connects with
 * `socket.authorized === false`: the authentication hook must look at it.
 */
export function createTlsListener(tls: MqttTlsConfig & { certFile: string }, handlers: TlsListenerHandlers): Server {
  if (tls.keyFile === undefined) throw new CloudosError('EDGE_ERR_TLS_LISTENER', 'mqtt.tls.certFile is set without mqtt.tls.keyFile', { key: 'mqtt.tls.keyFile' })
  const cert = readPem(tls.certFile, 'mqtt.tls.certFile')
  const key = readPem(tls.keyFile, 'mqtt.tls.keyFile')
  const ca = tls.caFile === undefined ? undefined : readPem(tls.caFile, 'mqtt.tls.caFile')
  let server: Server
  try {
    server = createServer({
      cert,
      key,
      ...(ca === undefined ? {} : { ca }),
      requestCert: ca !== undefined,
      rejectUnauthorized: tls.requireClientCert,
      // TLS 1.0 and 1.1 are deprecated (RFC 8996).
      minVersion: 'TLSv1.2',
      handshakeTimeout: handlers.handshakeTimeoutMs,
    })
  } catch (err) {
    throw new CloudosError('EDGE_ERR_TLS_LISTENER', `the TLS listener cannot use ${tls.certFile} and ${tls.keyFile}: ${(err as Error).message}`, { certFile: tls.certFile, keyFile: tls.keyFile })
  }
  // Listeners of 'connection' run after tls.Server's own, which only wraps the
  // socket; no TLS byte has been read yet, so a refusal costs no handshake.
  server.on('connection', (socket: Socket) => {
    handlers.admit(socket)
  })
  server.on('secureConnection', (socket: TLSSocket) => {
    readInLargerBatches(socket)
    handlers.onSecureSocket(socket)
  })
  // A failed handshake (wrong CA, no client certificate, plain MQTT on this
  // port) only ends that connection.
  server.on('tlsClientError', (_err, socket) => socket.destroy())
  return server
}

/**
 * aedes reads what a connection has buffered, parses it, and reads again only
 * once every packet of that read is handled; a QoS 1 telemetry PUBLISH is
 * handled when its group commit is done. A TCP socket hands over up to 64 KiB
 * per read, but a TLS socket stops decrypting once 16 KiB (its readable high
 * water mark, one TLS record) wait, so each commit cycle would carry a quarter
 * of the messages: QoS 1 ingest over TLS measured 0.28x the plain listener's
 * rate. Node 20 has no option for the accepted sockets' mark (net.Server's
 * `highWaterMark` does not reach tls.Server's sockets), so it is raised here,
 * to what a TCP read delivers. Memory stays bounded: this much per connection.
 */
const TLS_READ_BATCH_BYTES = 64 * 1024

function readInLargerBatches(socket: TLSSocket): void {
  const state = (socket as unknown as { _readableState?: { highWaterMark: number } })._readableState
  if (state !== undefined && state.highWaterMark < TLS_READ_BATCH_BYTES) state.highWaterMark = TLS_READ_BATCH_BYTES
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CloudosError('EDGE_ERR_TLS_LISTENER', `${key}: cannot read ${path}: ${(err as Error).message}`, { key, path })
  }
}
