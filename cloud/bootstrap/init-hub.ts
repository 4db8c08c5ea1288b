import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CloudosError } from '../../shared/errors.js'
import { AuditLog } from '../audit/audit-log.js'
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH } from '../accounts/password.js'
import { newTotpSecret, totpUri } from '../accounts/totp.js'
import { HUB_IDENTITY_FILE, HUB_PRIVATE_KEY_FILE, HubIdentity } from '../identity/hub-identity.js'
import type { UserId } from '../accounts/user-repository.js'
import { HUB_DB_FILE } from '../store/sqlite-database.js'
import { SqliteHubStore } from '../store/sqlite-hub-store.js'
import { HUB_TLS_DIR } from './hub-tls-files.js'
import { createHubTls, defaultTlsHosts, importOperatorTls, type OperatorTlsFiles } from './hub-tls-init.js'

export interface InitHubOptions {
  dataDir: string
  adminUsername?: string
  /** The admin password; generated (and returned) when omitted. */
  adminPassword?: string
  clock?: () => number
  /**
   * The hub's TLS identity: its own CA and a server certificate for `hosts`
   * (default: loopback, the host name and interface addresses), or the
   * operator's certificate, key and CA files.
   */
  tls?: { hosts?: string[] } | OperatorTlsFiles
}

export interface InitHubResult {
  dataDir: string
  hubId: string
  adminUsername: string
  /** Set only when the password was generated: shown once, stored only as a hash. */
  generatedPassword: string | undefined
  /** otpauth:// URI of the admin's TOTP secret: shown once. */
  otpauthUri: string
  totpSecret: string
  /** `sha256:<hex SPKI>` of the hub's CA: every enrolment token carries it. */
  caPin: string
  /** True when init created the CA (false: the operator's files were imported). */
  ownCa: boolean
}

export const USERNAME_PATTERN = /^[a-z][a-z0-9._-]{1,63}$/

/** True once `hub init` has completed in `dataDir` (the identity file is written last). */
export function isHubInitialised(dataDir: string): boolean {
  return existsSync(join(dataDir, HUB_IDENTITY_FILE))
}

/**
 * Bootstrap (UC-001): the hub's TLS identity (CA and server certificate), its Ed25519 identity, the database, the first
 * admin account (password + TOTP) and the first audit entry. The identity
 * file is written last, so an init that dies half-way leaves a directory the
 * next init refuses (and says why) rather than a hub that half-works.
 */
export async function initHub(options: InitHubOptions): Promise<InitHubResult> {
  const dataDir = resolve(options.dataDir)
  const adminUsername = options.adminUsername ?? 'admin'
  const clock = options.clock ?? Date.now
  if (isHubInitialised(dataDir)) {
    throw new CloudosError('HUB_ERR_ALREADY_INITIALISED', `${dataDir} already holds an initialised hub; init refuses to overwrite its identity and accounts`, { dataDir })
  }
  const leftovers = existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f === HUB_DB_FILE || f === HUB_PRIVATE_KEY_FILE || f === HUB_TLS_DIR) : []
  if (leftovers.length > 0) {
    throw new CloudosError('HUB_ERR_ALREADY_INITIALISED', `${dataDir} holds ${leftovers.join(' and ')} from an init that did not finish; move the directory away and run init again`, { dataDir, leftovers })
  }
  if (!USERNAME_PATTERN.test(adminUsername)) {
    throw new CloudosError('CLI_ERR_INVALID_FLAG', `admin username "${adminUsername}" must be 2-64 characters of a-z 0-9 . _ - starting with a letter`)
  }
  if (options.adminPassword !== undefined && options.adminPassword.length < MIN_PASSWORD_LENGTH) {
    throw new CloudosError('CLI_ERR_INVALID_FLAG', `the admin password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  }
  const password = options.adminPassword ?? generatePassword()
  const totpSecret = newTotpSecret()

  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const tls = options.tls ?? {}
  const ownCa = !('certFile' in tls)
  const { caPin } = 'certFile' in tls ? importOperatorTls(dataDir, tls) : await createHubTls(dataDir, tls.hosts ?? defaultTlsHosts())
  const store = SqliteHubStore.open(dataDir)
  try {
    const createdAt = clock()
    await store.users.create({
      id: randomUUID() as UserId,
      username: adminUsername,
      role: 'admin',
      passwordHash: await hashPassword(password),
      totpSecret,
      createdAt,
    })
    const identity = HubIdentity.generate()
    await new AuditLog(store.audit, identity, clock).record('hub.init', 'hub', adminUsername, { hubId: identity.hubId, adminUsername, caPin, tls: ownCa ? 'own-ca' : 'operator-files' })
    identity.persist(dataDir, new Date(createdAt))
    return {
      dataDir,
      hubId: identity.hubId,
      adminUsername,
      generatedPassword: options.adminPassword === undefined ? password : undefined,
      otpauthUri: totpUri(totpSecret, adminUsername),
      totpSecret,
      caPin,
      ownCa,
    }
  } finally {
    await store.close()
  }
}
