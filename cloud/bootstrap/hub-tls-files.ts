import { X509Certificate, createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { caPin } from '../../shared/pki/local-ca.js'
import { CloudosError } from '../../shared/errors.js'
import type { HubConfig } from '../hub-config.js'

/** Where `cloudos hub init` keeps the hub's TLS identity, inside the data dir. */
export const HUB_TLS_DIR = 'tls'
export const HUB_CA_CERT_FILE = join(HUB_TLS_DIR, 'hub-ca.pem')
/** The CA's private key (0600): present only when the hub made its own CA (absent with an operator's CA). */
export const HUB_CA_KEY_FILE = join(HUB_TLS_DIR, 'hub-ca-key.pem')
export const HUB_SERVER_CERT_FILE = join(HUB_TLS_DIR, 'hub-server.pem')
export const HUB_SERVER_KEY_FILE = join(HUB_TLS_DIR, 'hub-server-key.pem')

/** What the hub serves HTTPS with, read once at start. */
export interface HubTlsMaterial {
  key: string
  /** The server certificate followed by its chain up to and including the CA: edges look for the pinned CA in it. */
  cert: string
  caPem: string
  /** `sha256:<hex SPKI>` of the CA: what enrolment tokens carry. */
  caPin: string
}

/** The three files the hub serves with: config.tls overrides, the data dir's tls/ by default. */
export function hubTlsPaths(dataDir: string, tls: HubConfig['tls']): { certFile: string; keyFile: string; caFile: string } {
  return {
    certFile: resolve(dataDir, tls.certFile ?? HUB_SERVER_CERT_FILE),
    keyFile: resolve(dataDir, tls.keyFile ?? HUB_SERVER_KEY_FILE),
    caFile: resolve(dataDir, tls.caFile ?? HUB_CA_CERT_FILE),
  }
}

/** The CA pin, or undefined when the hub has no CA file (a plain-HTTP hub initialised without one). */
export function readHubCaPin(dataDir: string, tls: HubConfig['tls']): string | undefined {
  const { caFile } = hubTlsPaths(dataDir, tls)
  return existsSync(caFile) ? caPin(readFileSync(caFile, 'utf8')) : undefined
}

/**
 * Reads and checks the TLS files: the key matches the certificate and the
 * certificate was issued by the CA (a mismatch found at start is a clear
 * error, not a handshake failure on every device later).
 */
export function loadHubTls(dataDir: string, tls: HubConfig['tls']): HubTlsMaterial {
  const paths = hubTlsPaths(dataDir, tls)
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { file })
    }
  }
  const certText = read(paths.certFile)
  const key = read(paths.keyFile)
  const caPem = read(paths.caFile)
  let leaf: X509Certificate
  let ca: X509Certificate
  try {
    leaf = new X509Certificate(certText)
    ca = new X509Certificate(caPem)
  } catch (err) {
    throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `${paths.certFile} or ${paths.caFile} is not a PEM certificate: ${(err as Error).message}`)
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error('the key is not the certificate\'s')
  } catch (err) {
    throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `${paths.keyFile} does not match ${paths.certFile}: ${(err as Error).message}`)
  }
  const chain = pemBlocks(certText)
  // Issued directly by the CA, or through intermediates listed after the leaf in the cert file.
  const top = chain.length > 1 ? new X509Certificate(chain[chain.length - 1]!) : leaf
  if (!top.checkIssued(ca) || !top.verify(ca.publicKey)) {
    throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `${paths.certFile} was not issued by the CA in ${paths.caFile}`)
  }
  const caBlock = pemBlocks(caPem)[0]!
  const cert = chain.includes(caBlock) ? chain.join('') : [...chain, caBlock].join('')
  return { key, cert, caPem, caPin: caPin(caPem) }
}

/** The PEM certificate blocks of a file, each normalised to end with a newline. */
export function pemBlocks(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => `${block}\n`)
}
