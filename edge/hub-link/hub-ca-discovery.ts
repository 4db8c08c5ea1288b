import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { connect, type DetailedPeerCertificate } from 'node:tls'
import { CloudosError } from '../../shared/errors.js'
import { isIdentityFailure } from './hub-transport.js'

/**
 * Finding the hub's CA from its pin (kubeadm's "discovery by CA cert hash"):
 * the device connects, looks through the chain the endpoint presents for a
 * CA certificate whose SPKI hash equals the pin from the enrolment token,
 * and only then trusts it. Nothing is sent on this connection; the request
 * that follows runs over a new connection that verifies the whole chain
 * (and the host name) against that CA alone, so an endpoint that shows the
 * right CA but holds a certificate it did not issue still fails.
 */
export async function discoverPinnedCa(hubUrl: string, pin: string, timeoutMs: number): Promise<string> {
  const url = new URL(hubUrl)
  const chain = await presentedChain(url, timeoutMs)
  // Loaded here only: the X.509 library is needed at enrolment, not on every start.
  const { caPin } = await import('../../shared/pki/local-ca.js')
  for (const cert of chain) {
    if (cert.ca && caPin(cert.toString()) === pin) return cert.toString()
  }
  throw new CloudosError('EDGE_ERR_HUB_IDENTITY_MISMATCH', `${url.host} presented no CA certificate with the pin ${pin} from the enrolment token (it showed ${chain.length} certificate(s)); nothing was sent to it`, {
    hubUrl: url.origin,
    pin,
  })
}

/** Proves that `hubUrl` holds a certificate issued by `caPem` (a TLS handshake that verifies chain and host name). */
export async function proveHubIdentity(hubUrl: string, caPem: string, timeoutMs: number): Promise<void> {
  const url = new URL(hubUrl)
  await handshake(url, timeoutMs, { ca: caPem, rejectUnauthorized: true })
}

/** The certificates the endpoint presented, leaf first. */
async function presentedChain(url: URL, timeoutMs: number): Promise<X509Certificate[]> {
  const peer = await handshake(url, timeoutMs, { rejectUnauthorized: false })
  const chain: X509Certificate[] = []
  const seen = new Set<string>()
  let current: DetailedPeerCertificate | undefined = peer
  // The detailed peer certificate links each certificate to its issuer; a self-signed one links to itself.
  while (current !== undefined && current.raw !== undefined && chain.length < 10) {
    const fingerprint = current.fingerprint256
    if (seen.has(fingerprint)) break
    seen.add(fingerprint)
    chain.push(new X509Certificate(current.raw))
    current = current.issuerCertificate
  }
  return chain
}

function handshake(url: URL, timeoutMs: number, trust: { ca?: string; rejectUnauthorized: boolean }): Promise<DetailedPeerCertificate> {
  if (url.protocol !== 'https:') {
    return Promise.reject(new CloudosError('EDGE_ERR_HUB_IDENTITY_MISMATCH', `${url.href} is not an https:// URL: a plain-HTTP endpoint cannot prove the pinned hub identity`, { hubUrl: url.origin }))
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...trust, ...(trust.ca === undefined ? {} : { ca: trust.ca }) })
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const peer = socket.getPeerCertificate(true)
      socket.end()
      resolve(peer)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      socket.destroy()
      if (isIdentityFailure(err)) {
        reject(new CloudosError('EDGE_ERR_HUB_IDENTITY_MISMATCH', `${url.host} did not prove the pinned hub identity (${err.code}: ${err.message})`, { hubUrl: url.origin, tlsError: err.code }))
        return
      }
      reject(new CloudosError('EDGE_ERR_HUB_UNREACHABLE', `cannot enrol: the hub at ${url.origin} is unreachable (${err.code ?? ''} ${err.message})`, { hubUrl: url.origin }))
    })
  })
}
