import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createCertificateAuthority, issueServerCertificate } from '../../shared/pki/local-ca.js'

/** What a publisher needs to go through the secure listener (sent to it over IPC, so plain JSON). */
export interface PublisherSecurity {
  tls: { caPem: string; servername: string }
  username?: string
  password?: string
}

/** The secure variant of the ingest benchmark: one edge config and the matching client credentials. */
export interface SecureListener {
  /** What the runs on the secure listener add to the edge config (merged over --edge-config, mqtt section by key). */
  edgeConfig: { mqtt: Record<string, unknown> }
  connection: PublisherSecurity
  /** One line for the report. */
  description: string
}

/**
 * Prepares the secure listener of `cloudos bench ingest`: a site CA and a
 * server certificate for localhost (shared/pki, as `cloudos edge tls init`
 * makes them), the TLS listener on a free port.
 *
 * Authentication and ACLs join here: once the broker has them, their config
 * keys (a password file, an ACL file) go into `edgeConfig.mqtt` and the
 * publisher's user name and password into `connection`, so the secure runs
 * measure TLS, authentication and ACLs together against the plain listener.
 */
export async function prepareSecureListener(dir: string): Promise<SecureListener> {
  const ca = await createCertificateAuthority({ commonName: 'cloudos bench CA' })
  const server = await issueServerCertificate(ca, { commonName: 'localhost', hosts: ['localhost', '127.0.0.1'] })
  const certFile = join(dir, 'bench-server.crt')
  const keyFile = join(dir, 'bench-server.key')
  writeFileSync(certFile, server.certPem)
  writeFileSync(keyFile, server.keyPem, { mode: 0o600 })
  return {
    edgeConfig: { mqtt: { tls: { certFile, keyFile, port: 0 } } },
    connection: { tls: { caPem: ca.certPem, servername: 'localhost' } },
    description: 'TLS 1.3 (ECDSA P-256 server certificate, verified against the site CA)',
  }
}

/** The edge config of a secure run: the user's --edge-config (if any) with the secure listener's keys over its mqtt section. */
export function secureEdgeConfig(base: Record<string, unknown>, secure: SecureListener): Record<string, unknown> {
  const mqtt = (base.mqtt ?? {}) as Record<string, unknown>
  return { ...base, mqtt: { ...mqtt, ...secure.edgeConfig.mqtt } }
}
