import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { hostname, networkInterfaces } from 'node:os'
import { dirname, join } from 'node:path'
import { createCertificateAuthority, issueServerCertificate, type CertifiedKey } from '../../shared/pki/local-ca.js'
import { CloudosError } from '../../shared/errors.js'
import { HUB_CA_CERT_FILE, HUB_CA_KEY_FILE, HUB_SERVER_CERT_FILE, HUB_SERVER_KEY_FILE, loadHubTls } from './hub-tls-files.js'

/** Files an operator brings instead of the hub's own CA (`hub init --tls-cert --tls-key --tls-ca`). */
export interface OperatorTlsFiles {
  certFile: string
  keyFile: string
  caFile: string
}

/**
 * The names and addresses the server certificate answers to when none are
 * given: loopback, this host's name and every address of its interfaces, so
 * an edge on the LAN can reach a hub started with `--host 0.0.0.0`.
 */
export function defaultTlsHosts(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((entry) => entry.address.replace(/%.*$/, ''))
  return [...new Set(['localhost', hostname(), '127.0.0.1', '::1', ...addresses])]
}

/** Creates the hub's CA and a server certificate for `hosts` in `dataDir/tls/`. */
export async function createHubTls(dataDir: string, hosts: string[]): Promise<{ caPin: string }> {
  const ca = await createCertificateAuthority({ commonName: 'CloudOS Lite hub CA' })
  writeSecret(join(dataDir, HUB_CA_KEY_FILE), ca.keyPem)
  writePublic(join(dataDir, HUB_CA_CERT_FILE), ca.certPem)
  await writeServerCertificate(dataDir, ca, hosts)
  return { caPin: loadHubTls(dataDir, {}).caPin }
}

/** Copies an operator's certificate, key and CA into `dataDir/tls/`, after checking that they belong together. */
export function importOperatorTls(dataDir: string, files: OperatorTlsFiles): { caPin: string } {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { file })
    }
  }
  // Checked where they are, before anything is copied.
  loadHubTls(dataDir, files)
  writePublic(join(dataDir, HUB_SERVER_CERT_FILE), read(files.certFile))
  writeSecret(join(dataDir, HUB_SERVER_KEY_FILE), read(files.keyFile))
  writePublic(join(dataDir, HUB_CA_CERT_FILE), read(files.caFile))
  return { caPin: loadHubTls(dataDir, {}).caPin }
}

/**
 * Issues a new server certificate under the hub's own CA (new host names, or
 * an expiring certificate). The CA and so the pin stay the same: enrolled
 * edges accept the new certificate without any change. Takes effect when the
 * hub restarts.
 */
export async function rotateServerCertificate(dataDir: string, hosts: string[]): Promise<{ caPin: string; hosts: string[] }> {
  const caKeyPath = join(dataDir, HUB_CA_KEY_FILE)
  if (!existsSync(caKeyPath)) {
    throw new CloudosError('HUB_ERR_TLS_UNREADABLE', `${caKeyPath} does not exist: this hub serves an operator's certificate; issue a new one with that CA and copy it to ${join(dataDir, HUB_SERVER_CERT_FILE)}`)
  }
  const ca: CertifiedKey = { certPem: readFileSync(join(dataDir, HUB_CA_CERT_FILE), 'utf8'), keyPem: readFileSync(caKeyPath, 'utf8') }
  await writeServerCertificate(dataDir, ca, hosts)
  return { caPin: loadHubTls(dataDir, {}).caPin, hosts }
}

async function writeServerCertificate(dataDir: string, ca: CertifiedKey, hosts: string[]): Promise<void> {
  const server = await issueServerCertificate(ca, { commonName: 'CloudOS Lite hub', hosts })
  // Key first: a crash between the two leaves the old certificate with a key it does not match,
  // which the hub reports at start (HUB_ERR_TLS_UNREADABLE) rather than serving something else.
  writeSecret(join(dataDir, HUB_SERVER_KEY_FILE), server.keyPem)
  writePublic(join(dataDir, HUB_SERVER_CERT_FILE), server.certPem)
}

function writeSecret(path: string, content: string): void {
  writeAtomically(path, content, 0o600)
}

function writePublic(path: string, content: string): void {
  writeAtomically(path, content, 0o644)
}

function writeAtomically(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, content, { mode })
  chmodSync(temp, mode)
  renameSync(temp, path)
}
