import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AuditLog } from '../../cloud/audit/audit-log.js'
import { EnrolmentService } from '../../cloud/devices/enrolment-service.js'
import { resolveHubConfig } from '../../cloud/hub-config.js'
import { initHub, isHubInitialised } from '../../cloud/bootstrap/init-hub.js'
import { HubIdentity } from '../../cloud/identity/hub-identity.js'
import { startHub, type RunningHub } from '../../cloud/server.js'
import { SqliteHubStore } from '../../cloud/store/sqlite-hub-store.js'
import { DEVICE_IDENTITY_FILE, DEVICE_KEY_FILE, HUB_CA_FILE, hasDeviceIdentity, loadDeviceIdentity } from '../../edge/hub-link/device-identity.js'
import { HUB_CA_CERT_FILE, readHubCaPin } from '../../cloud/bootstrap/hub-tls-files.js'
import { createHubTls } from '../../cloud/bootstrap/hub-tls-init.js'
import type { Logger } from '../../shared/log/logger.js'

/** The demo hub listens on loopback only: its certificate names nothing else. */
const DEMO_TLS_HOSTS = ['localhost', '127.0.0.1', '::1']

/** Where the demo keeps its hub admin password (mode 0600), so it can be shown again. */
export const DEMO_CREDENTIALS_FILE = 'demo-admin-credentials.json'

export interface DemoHubCredentials {
  username: string
  password: string
  file: string
  /** The otpauth URI: only on the run that created the hub (shown once, not stored). */
  otpauthUri?: string
  /** The hub CA certificate (for curl --cacert and admin commands' --ca). */
  caFile: string
}

/**
 * The demo's hub data dir: initialised on the first run (credentials
 * returned with the otpauth URI, the password also kept in a 0600 file),
 * reused on later runs (password read back from that file).
 */
export async function prepareDemoHub(hubDir: string): Promise<DemoHubCredentials> {
  const file = join(hubDir, DEMO_CREDENTIALS_FILE)
  if (isHubInitialised(hubDir)) {
    // A demo hub made before the hub served TLS: give it a CA and a loopback certificate now.
    if (!existsSync(join(hubDir, HUB_CA_CERT_FILE))) await createHubTls(hubDir, DEMO_TLS_HOSTS)
    const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { username: string; password: string }) : { username: 'admin', password: '(unknown: not stored)' }
    return { ...stored, file, caFile: join(hubDir, HUB_CA_CERT_FILE) }
  }
  const result = await initHub({ dataDir: hubDir, tls: { hosts: DEMO_TLS_HOSTS } })
  const password = result.generatedPassword as string
  writeFileSync(file, `${JSON.stringify({ username: result.adminUsername, password, note: 'Demo hub admin. The TOTP second factor was printed once, when the demo hub was created.' }, null, 2)}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return { username: result.adminUsername, password, file, otpauthUri: result.otpauthUri, caFile: join(hubDir, HUB_CA_CERT_FILE) }
}

/**
 * An enrolment token for the demo edge, issued by the hub's enrolment service
 * (with its audit entry, as POST /v1/enrolment-tokens does), or undefined when the
 * edge already holds an identity from this hub. An identity from another
 * hub (the hub dir was deleted) is moved aside so the edge enrols afresh.
 */
export async function demoEnrolmentToken(hubDir: string, edgeDir: string, log: Logger): Promise<string | undefined> {
  const hubIdentity = HubIdentity.load(hubDir)
  if (hasDeviceIdentity(edgeDir)) {
    const enrolled = loadDeviceIdentity(edgeDir)
    if (enrolled.hubId === hubIdentity.hubId && enrolled.hubCaPin === readHubCaPin(hubDir, {})) return undefined
    const suffix = `.other-hub-${Date.now()}`
    for (const name of [DEVICE_IDENTITY_FILE, DEVICE_KEY_FILE, HUB_CA_FILE]) {
      if (existsSync(join(edgeDir, name))) renameSync(join(edgeDir, name), join(edgeDir, `${name}${suffix}`))
    }
    log.warn(`the demo edge was enrolled with another hub (or before the hub had a TLS CA); its old identity was kept as *${suffix} and it enrols with this one`)
  }
  const store = SqliteHubStore.open(hubDir)
  try {
    // Only issues a token: nothing is enrolled through this instance, so no enrolment failure can occur to record.
    const enrolment = new EnrolmentService({ tokens: store.enrolmentTokens, devices: store.devices, audit: new AuditLog(store.audit, hubIdentity), enrolment: resolveHubConfig().enrolment, failures: { record: () => undefined }, clock: Date.now, caPin: readHubCaPin(hubDir, {}) })
    const { token } = await enrolment.issueToken({ group: 'demo', tier: 'edge', ttlSeconds: 3600, actor: 'demo' })
    return token
  } finally {
    await store.close()
  }
}

/** Starts the demo hub on `port`, or on a free port when that one is taken. */
export async function startDemoHub(hubDir: string, port: number, log: Logger): Promise<RunningHub> {
  const options = { dataDir: hubDir, host: '127.0.0.1', logger: { level: 'warn', stream: process.stderr } }
  try {
    return await startHub({ ...options, port })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err
    log.warn(`hub port ${port} is taken; using a free port instead`)
    return startHub({ ...options, port: 0 })
  }
}
