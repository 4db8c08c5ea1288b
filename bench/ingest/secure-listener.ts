import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { addMqttUser } from '../../edge/broker/security/mqtt-users.js'
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
 * makes them), the TLS listener on a free port, a password file with one user
 * (scrypt, as `cloudos mqtt user add` writes it) and an ACL file granting that
 * user `sensors/#` (the publishers write many sensor ids). So the secure runs
 * measure TLS, authentication and ACLs together against the plain listener.
 */
export async function prepareSecureListener(dir: string): Promise<SecureListener> {
  const ca = await createCertificateAuthority({ commonName: 'cloudos bench CA' })
  const server = await issueServerCertificate(ca, { commonName: 'localhost', hosts: ['localhost', '127.0.0.1'] })
  const certFile = join(dir, 'bench-server.crt')
  const keyFile = join(dir, 'bench-server.key')
  writeFileSync(certFile, server.certPem)
  writeFileSync(keyFile, server.keyPem, { mode: 0o600 })
  const username = 'bench-publisher'
  const password = randomBytes(18).toString('base64url')
  const passwordFile = join(dir, 'bench-mqtt-passwords')
  await addMqttUser(passwordFile, username, password)
  const aclFile = join(dir, 'bench-mqtt-acl')
  writeFileSync(aclFile, `user ${username}\ntopic write sensors/#\n`, { mode: 0o600 })
  return {
    edgeConfig: { mqtt: { tls: { certFile, keyFile, port: 0 }, passwordFile, aclFile, allowAnonymous: false } },
    connection: { tls: { caPem: ca.certPem, servername: 'localhost' }, username, password },
    description: 'TLS 1.3 (ECDSA P-256 server certificate, verified against the site CA) + password (scrypt) + ACL file',
  }
}

/** The edge config of a secure run: the user's --edge-config (if any) with the secure listener's keys over its mqtt section. */
export function secureEdgeConfig(base: Record<string, unknown>, secure: SecureListener): Record<string, unknown> {
  const mqtt = (base.mqtt ?? {}) as Record<string, unknown>
  return { ...base, mqtt: { ...mqtt, ...secure.edgeConfig.mqtt } }
}
