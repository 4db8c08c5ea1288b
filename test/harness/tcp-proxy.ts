import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on loopback in front of `target`, for cutting connections in
 * tests: `cut()` destroys every open connection (both sides, mid-transfer),
 * `refuse(true)` closes new connections at once, `bytesUp` counts what
 * clients sent through it (so a test can cut in the middle of an upload).
 */
export interface TcpProxy {
  /** http://127.0.0.1:<port>: for a plain-HTTP target. */
  url: string
  /** https://127.0.0.1:<port>: the same proxy for a TLS target (bytes pass through; the certificate is the target's). */
  httpsUrl: string
  port: number
  /** Bytes sent from clients to the target so far. */
  readonly bytesUp: number
  /** Destroys every connection open now. */
  cut(): void
  /** While true, new connections are dropped as soon as they open. */
  refuse(on: boolean): void
  /** A network partition: cut every connection and refuse new ones until `heal()`. */
  partition(): void
  heal(): void
  /** Calls `onBytes` with the running byte count as client data passes (once per chunk). */
  onUpload(onBytes: (bytesUp: number) => void): void
  close(): Promise<void>
}

export async function startTcpProxy(targetOrPort: { host: string; port: number } | number): Promise<TcpProxy> {
  const target = typeof targetOrPort === 'number' ? { host: '127.0.0.1', port: targetOrPort } : targetOrPort
  const sockets = new Set<Socket>()
  let refusing = false
  let bytesUp = 0
  const listeners: ((bytesUp: number) => void)[] = []
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    sockets.add(client)
    sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length
      for (const listener of listeners) listener(bytesUp)
    })
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const cut = () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }
  return {
    url: `http://127.0.0.1:${port}`,
    httpsUrl: `https://127.0.0.1:${port}`,
    port,
    get bytesUp() {
      return bytesUp
    },
    cut,
    refuse(on) {
      refusing = on
    },
    partition() {
      refusing = true
      cut()
    },
    heal() {
      refusing = false
    },
    onUpload(onBytes) {
      listeners.push(onBytes)
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
