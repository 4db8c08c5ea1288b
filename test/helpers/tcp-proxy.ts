import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on loopback in front of a target port, whose link can be cut
 * (every open connection destroyed, new ones closed at once) and healed:
 * a network partition between an edge and the hub, for tests.
 */
export interface TcpProxy {
  port: number
  url: string
  cut(): void
  heal(): void
  /** Bytes forwarded each way since the start. */
  bytes(): { up: number; down: number }
  close(): Promise<void>
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let open = true
  let up = 0
  let down = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (d: Buffer) => {
      up += d.length
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      down += d.length
      client.write(d)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cut() {
      open = false
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    heal() {
      open = true
    },
    bytes: () => ({ up, down }),
    close() {
      open = false
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
