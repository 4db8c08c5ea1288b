import { createServer, type AddressInfo } from 'node:net'

/**
 * A TCP port free on 127.0.0.1 right now, for programs that cannot be told to
 * pick one themselves (Mosquitto has no "port 0"). Another process could take
 * it before the caller binds it; callers retry on a bind failure.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
