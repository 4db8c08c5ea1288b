/**
 * A small local certificate authority: what `cloudos hub init` and
 * `cloudos edge tls init` use to give a hub or a site broker a TLS identity
 * without an outside PKI. Keys are ECDSA P-256 (every TLS stack speaks it;
 * generation takes milliseconds on a Pi, unlike RSA).
 *
 * Node can parse certificates (X509Certificate) but cannot issue them, so the
 * issuing is done with @peculiar/x509, a maintained pure-TypeScript X.509
 * library on top of WebCrypto. It resolves its internals through tsyringe,
 * which needs the Reflect metadata polyfill loaded first: hence the
 * side-effect import on the first line.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { createHash, randomBytes, webcrypto, X509Certificate, createPrivateKey } from 'node:crypto'
import { isIP } from 'node:net'

// @peculiar/x509 is typed against the DOM's WebCrypto types; Node's are the
// same objects under other names, so the keys are passed through these aliases.
type X509Key = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0] & { algorithm: unknown }
type X509KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys']
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1] & object)

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY_MS = 24 * 60 * 60 * 1000

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  certPem: string
  keyPem: string
}

export interface CaOptions {
  commonName: string
  /** Default 3650 (ten years): a site CA outlives the boxes it certifies. */
  validDays?: number
}

export interface LeafOptions {
  commonName: string
  /** Host names and IP addresses the server answers as (subjectAltName). */
  hosts?: string[]
  /** Default 825 days, the longest leaf lifetime browsers and TLS stacks accept. */
  validDays?: number
}

/** Creates a self-signed CA that may sign leaf certificates (path length 0). */
export async function createCertificateAuthority(options: CaOptions): Promise<CertifiedKey> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])
  const notBefore = backdated()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(options.commonName),
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validDays ?? 3650) * DAY_MS),
    keys: keys as unknown as X509KeyPair,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as X509Key),
    ],
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}

/** Issues a TLS server certificate for `hosts` signed by `ca`. */
export function issueServerCertificate(ca: CertifiedKey, options: LeafOptions): Promise<CertifiedKey> {
  return issueLeaf(ca, options, x509.ExtendedKeyUsage.serverAuth)
}

/** Issues a TLS client certificate (mTLS): the common name is the client's user name. */
export function issueClientCertificate(ca: CertifiedKey, options: LeafOptions): Promise<CertifiedKey> {
  return issueLeaf(ca, options, x509.ExtendedKeyUsage.clientAuth)
}

/**
 * The pin of a CA: `sha256:` and the hex SHA-256 of its SubjectPublicKeyInfo
 * (DER), the form `kubeadm join --discovery-token-ca-cert-hash` uses. It pins
 * the key, so a CA certificate re-issued for the same key keeps its pin.
 */
export function caPin(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`
}

/** The pattern every pin matches: what a schema or a parser checks before comparing. */
export const CA_PIN_PATTERN = '^sha256:[0-9a-f]{64}$'

async function issueLeaf(ca: CertifiedKey, options: LeafOptions, usage: string): Promise<CertifiedKey> {
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await importKeyPem(ca.keyPem)
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])
  const notBefore = backdated()
  const hosts = options.hosts ?? []
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
  ]
  if (hosts.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => (isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host })),
        false,
      ),
    )
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(options.commonName),
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validDays ?? 825) * DAY_MS),
    publicKey: keys.publicKey as unknown as X509Key,
    signingKey: caKey,
    signingAlgorithm: EC_P256,
    extensions,
  })
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) }
}

/** An hour in the past, so a peer whose clock is a little behind accepts the certificate. */
function backdated(): Date {
  return new Date(Date.now() - 60 * 60 * 1000)
}

/** 16 random bytes with the top bit clear: positive, unique, as RFC 5280 asks. */
function serialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = bytes[0]! & 0x7f
  return bytes.toString('hex')
}

/** A one-attribute distinguished name; the value is quoted per RFC 4514 so commas or `=` cannot add attributes. */
function distinguishedName(commonName: string): string {
  if (commonName.length === 0 || commonName.length > 64) throw new RangeError('a common name is 1 to 64 characters')
  const escaped = commonName.replace(/[\\",+<>;=#]/g, (c) => `\\${c}`)
  return `CN=${escaped}`
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString()
}

async function importKeyPem(pem: string): Promise<X509Key> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' })
  return (await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign'])) as unknown as X509Key
}
