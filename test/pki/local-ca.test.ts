import { connect, createServer, type TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { caPin, CA_PIN_PATTERN, createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../../shared/pki/local-ca.js'

/** Opens a real TLS connection to a server holding `server`, trusting `caPem`; resolves with the server's view of the client certificate. */
async function handshake(options: {
  server: { certPem: string; keyPem: string }
  serverCaPem: string
  clientCaPem: string
  client?: { certPem: string; keyPem: string }
  servername: string
}): Promise<{ authorized: boolean; clientCn: string | undefined }> {
  const server = createServer({
    cert: options.server.certPem,
    key: options.server.keyPem,
    ca: options.serverCaPem,
    requestCert: true,
    rejectUnauthorized: false,
  })
  const seen = new Promise<string | undefined>((resolve) => {
    server.on('secureConnection', (socket: TLSSocket) => {
      const peer = socket.getPeerCertificate()
      resolve(socket.authorized ? (peer.subject?.CN as string | undefined) : undefined)
      socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: options.servername,
      ca: options.clientCaPem,
      cert: options.client?.certPem,
      key: options.client?.keyPem,
    })
    const authorized = await new Promise<boolean>((resolve) => {
      socket.once('secureConnect', () => resolve(true))
      socket.once('error', () => resolve(false))
    })
    const clientCn = authorized ? await seen : undefined
    socket.destroy()
    return { authorized, clientCn }
  } finally {
    server.close()
  }
}

describe('local CA', () => {
  it('issues a server certificate a TLS client verifies by host name, and a client certificate the server reads the user from', async () => {
    const ca = await createCertificateAuthority({ commonName: 'site A CA' })
    const server = await issueServerCertificate(ca, { commonName: 'gateway', hosts: ['localhost', '127.0.0.1'] })
    const client = await issueClientCertificate(ca, { commonName: 'sensor-7' })
    const result = await handshake({ server, serverCaPem: ca.certPem, clientCaPem: ca.certPem, client, servername: 'localhost' })
    expect(result).toEqual({ authorized: true, clientCn: 'sensor-7' })
    const parsed = new X509Certificate(server.certPem)
    expect(parsed.checkIssued(new X509Certificate(ca.certPem))).toBe(true)
    expect(parsed.subjectAltName).toContain('DNS:localhost')
    expect(parsed.subjectAltName).toContain('IP Address:127.0.0.1')
  })

  it('a client trusting another CA refuses the server, and a wrong host name is refused', async () => {
    const ca = await createCertificateAuthority({ commonName: 'real CA' })
    const other = await createCertificateAuthority({ commonName: 'attacker CA' })
    const server = await issueServerCertificate(other, { commonName: 'hub', hosts: ['localhost'] })
    expect((await handshake({ server, serverCaPem: ca.certPem, clientCaPem: ca.certPem, servername: 'localhost' })).authorized).toBe(false)
    const genuine = await issueServerCertificate(ca, { commonName: 'hub', hosts: ['hub.example'] })
    expect((await handshake({ server: genuine, serverCaPem: ca.certPem, clientCaPem: ca.certPem, servername: 'localhost' })).authorized).toBe(false)
  })

  it('pins the CA key: the same for the same key, different for another CA, in the documented form', async () => {
    const a = await createCertificateAuthority({ commonName: 'a' })
    const b = await createCertificateAuthority({ commonName: 'a' })
    expect(caPin(a.certPem)).toMatch(new RegExp(CA_PIN_PATTERN))
    expect(caPin(a.certPem)).toBe(caPin(a.certPem))
    expect(caPin(a.certPem)).not.toBe(caPin(b.certPem))
  })

  it('a common name cannot smuggle extra name attributes', async () => {
    const ca = await createCertificateAuthority({ commonName: 'evil,O=Trusted Org' })
    const subject = new X509Certificate(ca.certPem).subject
    expect(subject).not.toMatch(/^O=/m)
    await expect(createCertificateAuthority({ commonName: '' })).rejects.toThrow(RangeError)
  })
})
