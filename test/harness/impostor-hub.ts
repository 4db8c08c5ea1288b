import Fastify, { type FastifyInstance } from 'fastify'
import { createCertificateAuthority, issueServerCertificate } from '../../shared/pki/local-ca.js'

/**
 * A hostile hub for the identity tests: an HTTPS server that claims to be
 * the hub but holds a certificate from another CA. It answers every device
 * route with the friendliest answer an attacker would give and records each
 * request that reaches it, so a test can prove the edge sent it nothing.
 *
 * `showCaPem` puts the real hub's CA certificate (public, anyone can copy
 * it) into the chain it presents, after its own leaf: an impostor that shows
 * the right CA but cannot hold a certificate that CA issued.
 */
export interface ImpostorHub {
  url: string
  port: number
  app: FastifyInstance
  /** Method and path of every HTTP request that reached it. */
  requests: string[]
  /** TCP connections accepted, whether or not a TLS handshake or a request followed. */
  readonly connections: number
  close(): Promise<void>
}

export interface ImpostorOptions {
  /** Listen on this port (e.g. the real hub's, after it stopped: a hijacked address). */
  port?: number
  /** The real hub's CA certificate, shown in the chain (see above). */
  showCaPem?: string
}

export async function startImpostorHub(options: ImpostorOptions = {}): Promise<ImpostorHub> {
  const ca = await createCertificateAuthority({ commonName: 'CloudOS Lite hub CA' })
  const server = await issueServerCertificate(ca, { commonName: 'CloudOS Lite hub', hosts: ['localhost', '127.0.0.1', '::1'] })
  const cert = options.showCaPem === undefined ? server.certPem + ca.certPem : server.certPem + options.showCaPem
  const app = Fastify({ https: { key: server.keyPem, cert } }) as unknown as FastifyInstance
  const requests: string[] = []
  let connections = 0
  app.server.on('connection', () => (connections += 1))
  app.addHook('onRequest', async (request) => {
    requests.push(`${request.method} ${request.url}`)
  })
  app.post('/v1/devices/enroll', async (_request, reply) =>
    reply.status(201).send({ deviceId: 'dev-impostor', group: 'stolen', tier: 'edge', hubId: 'hub-impostor', hubPublicKeyPem: ca.certPem }),
  )
  app.post('/v1/devices/me/heartbeat', async () => ({ ok: true, heartbeatIntervalSeconds: 1 }))
  app.post('/v1/devices/me/alerts', async () => ({ accepted: 0, duplicates: 0, lastSeq: 0 }))
  app.get('/v1/devices/me/ota', async () => ({ release: null }))
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    app,
    requests,
    get connections() {
      return connections
    },
    close: () => app.close(),
  }
}
