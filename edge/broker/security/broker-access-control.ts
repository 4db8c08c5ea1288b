import { existsSync } from 'node:fs'
import { CloudosError } from '../../../shared/errors.js'
import type { Logger } from '../../../shared/log/logger.js'
import { AclFilePolicy, defaultAccessPolicy, type AccessPolicy } from './access-policy.js'
import { readAclFile } from './acl-file.js'
import { BrokerSecurity, type SecuredClient } from './broker-security.js'
import { CredentialStore } from './credential-store.js'
import { decideAnonymousAccess } from './listener-exposure.js'
import { defaultPasswordFile } from './password-file.js'
import { watchFileChanges } from './watch-file.js'

/** The `mqtt` config keys this module reads (shared/config/edge-config-schema.ts). */
export interface MqttAccessConfig {
  host: string
  allowAnonymous?: boolean | undefined
  passwordFile?: string | undefined
  aclFile?: string | undefined
}

export interface BrokerAccessControlOptions {
  mqtt: MqttAccessConfig
  dataDir: string
  log: Logger
  /** Hosts of further listeners (the TLS listener) that count in the loopback-or-public decision. */
  extraListenerHosts?: readonly string[]
  /** A TLS listener requires client certificates: that is authentication configured too. */
  clientCertificates?: boolean
  /** Poll interval of the password and ACL files (default 2 s; tests shorten it). */
  watchIntervalMs?: number
}

/**
 * Builds the broker's security from the `mqtt` config, at assembly: a public
 * listener without authentication, an unreadable password file or a
 * malformed ACL file stop the edge here with their coded error. Then owns the
 * life of those files: watched while the broker runs, re-read on SIGHUP
 * (as Mosquitto does), connections of a removed or changed user closed.
 */
export class BrokerAccessControl {
  readonly security: BrokerSecurity
  readonly credentials: CredentialStore
  readonly #options: BrokerAccessControlOptions
  #policy: AccessPolicy
  #clients: () => Iterable<SecuredClient> = () => []
  #stopWatchingAcl: (() => void) | undefined
  readonly #onHangup = () => this.reload()

  constructor(options: BrokerAccessControlOptions) {
    this.#options = options
    const { mqtt, dataDir, log } = options
    const passwordFile = mqtt.passwordFile ?? defaultPasswordFile(dataDir)
    // A configured file must exist (as in Mosquitto); the default one may appear later (cloudos mqtt user add).
    if (mqtt.passwordFile !== undefined && !existsSync(passwordFile)) {
      throw new CloudosError('EDGE_ERR_MQTT_PASSWORD_FILE', `the MQTT password file ${passwordFile} (mqtt.passwordFile) does not exist`, { path: passwordFile })
    }
    this.credentials = new CredentialStore({
      path: passwordFile,
      log,
      ...(options.watchIntervalMs === undefined ? {} : { watchIntervalMs: options.watchIntervalMs }),
      onRevoked: (names) => this.#closeRevoked(names),
    })
    const decision = decideAnonymousAccess({
      listenerHosts: [mqtt.host, ...(options.extraListenerHosts ?? [])],
      allowAnonymous: mqtt.allowAnonymous,
      authenticationConfigured: existsSync(passwordFile) || options.clientCertificates === true,
    })
    if (decision.warning !== undefined) log.warn(decision.warning)
    this.#policy = mqtt.aclFile === undefined ? defaultAccessPolicy : new AclFilePolicy(readAclFile(mqtt.aclFile))
    this.security = new BrokerSecurity({ credentials: this.credentials, anonymous: decision.anonymous, policy: () => this.#policy })
  }

  /** Starts watching the files; `clients` lists the connected clients (for closing revoked ones). */
  start(clients: () => Iterable<SecuredClient>): void {
    this.#clients = clients
    this.credentials.startWatching()
    const aclFile = this.#options.mqtt.aclFile
    if (aclFile !== undefined) this.#stopWatchingAcl = watchFileChanges(aclFile, this.#options.watchIntervalMs ?? 2000, () => this.#reloadAcl())
    process.on('SIGHUP', this.#onHangup)
  }

  stop(): void {
    process.off('SIGHUP', this.#onHangup)
    this.credentials.stopWatching()
    this.#stopWatchingAcl?.()
    this.#stopWatchingAcl = undefined
  }

  /** Re-reads the password and ACL files (SIGHUP); a file that does not parse is logged and the previous one kept. */
  reload(): void {
    this.credentials.reload()
    this.#reloadAcl()
  }

  #reloadAcl(): void {
    const aclFile = this.#options.mqtt.aclFile
    if (aclFile === undefined) return
    try {
      this.#policy = new AclFilePolicy(readAclFile(aclFile))
      this.security.policyChanged()
      this.#options.log.info('MQTT ACL file loaded', { path: aclFile })
    } catch (err) {
      this.#options.log.error('MQTT ACL file not reloaded, keeping the previous rules', { error: (err as Error).message })
    }
  }

  #closeRevoked(usernames: ReadonlySet<string>): void {
    for (const client of this.#clients()) {
      const identity = this.security.identityOf(client)
      if (identity?.via === 'password' && identity.username !== null && usernames.has(identity.username)) client.close()
    }
  }
}
