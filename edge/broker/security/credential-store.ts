import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Logger } from '../../../shared/log/logger.js'
import { hashPassword, parsePasswordHash, verifyPassword, type ParsedHash } from './password-hash.js'
import { isReadableByOthers, readPasswordFileIfExists, type PasswordEntry } from './password-file.js'
import { watchFileChanges } from './watch-file.js'

/** Two scrypt checks at once keep two of libuv's four threads for file and DNS work; 32 more may wait (~0.7 s of work). */
const MAX_CONCURRENT_CHECKS = 2
const MAX_WAITING_CHECKS = 32

/** Too many password checks are already running or waiting: the CONNECT is refused with CONNACK 3 (server unavailable). */
export class CredentialCheckBusy extends Error {
  constructor() {
    super('too many password checks in progress')
  }
}

export interface CredentialStoreOptions {
  path: string
  log: Logger
  /** How often the file's stat is polled for changes (fs.watchFile); 2 s by default. */
  watchIntervalMs?: number
  /** Called after a reload with the users whose entry was removed or changed (their connections should end). */
  onRevoked?: (usernames: ReadonlySet<string>) => void
}

/**
 * The password file in memory, re-read when it changes on disk (polled stat,
 * which also notices the rename of an atomic write) or when `reload()` is
 * called (SIGHUP). A file that fails to parse on reload is logged and the
 * previous users are kept: a typo must not lock every sensor out.
 *
 * A successful scrypt check is remembered as an HMAC of the password under a
 * key that lives only in this process, so a fleet reconnecting after a network
 * blip costs one HMAC per client, not 40 ms of scrypt each; a changed entry
 * drops the memory.
 */
export class CredentialStore {
  readonly #options: CredentialStoreOptions
  #users: Map<string, PasswordEntry>
  readonly #verified = new Map<string, { encoded: string; digest: Buffer }>()
  readonly #cacheKey = randomBytes(32)
  #dummy: Promise<ParsedHash> | undefined
  #running = 0
  readonly #waiting: (() => void)[] = []
  #stopWatching: (() => void) | undefined

  /** Reads the file now: a malformed file at start is EDGE_ERR_MQTT_PASSWORD_FILE (the edge does not start). */
  constructor(options: CredentialStoreOptions) {
    this.#options = options
    this.#users = readPasswordFileIfExists(options.path)
    this.#warnIfExposed()
  }

  get path(): string {
    return this.#options.path
  }

  /**
   * True when `password` is the user's. Every refusal costs a scrypt, for an
   * unknown user too, so timing tells nothing about which names exist. At
   * most MAX_CONCURRENT_CHECKS scrypt checks run at once (16 MiB each) and
   * MAX_WAITING_CHECKS wait; beyond that a CONNECT flood is refused at once
   * (CredentialCheckBusy) instead of queueing without bound.
   */
  async verify(username: string, password: Buffer): Promise<boolean> {
    const entry = this.#users.get(username)
    const digest = createHmac('sha256', this.#cacheKey).update(password).digest()
    const known = entry === undefined ? undefined : this.#verified.get(username)
    if (entry !== undefined && known !== undefined && known.encoded === entry.encoded && timingSafeEqual(known.digest, digest)) return true
    await this.#slot()
    try {
      if (entry === undefined) {
        this.#dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parsePasswordHash(h) as ParsedHash)
        await verifyPassword(password.toString('utf8'), await this.#dummy)
        return false
      }
      const ok = await verifyPassword(password.toString('utf8'), entry.hash)
      // The file may have changed while scrypt ran: remember only against the entry that was checked.
      if (ok && this.#users.get(username) === entry) this.#verified.set(username, { encoded: entry.encoded, digest })
      return ok
    } finally {
      const next = this.#waiting.shift()
      if (next === undefined) this.#running--
      else next()
    }
  }

  async #slot(): Promise<void> {
    if (this.#running < MAX_CONCURRENT_CHECKS) {
      this.#running++
      return
    }
    if (this.#waiting.length >= MAX_WAITING_CHECKS) throw new CredentialCheckBusy()
    // The finishing check hands its slot over: #running stays as it is.
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  startWatching(): void {
    this.#stopWatching ??= watchFileChanges(this.#options.path, this.#options.watchIntervalMs ?? 2000, () => this.reload())
  }

  stopWatching(): void {
    this.#stopWatching?.()
    this.#stopWatching = undefined
  }

  /** Re-reads the file; keeps the current users when it does not parse. Returns whether the new file was taken. */
  reload(): boolean {
    let next: Map<string, PasswordEntry>
    try {
      next = readPasswordFileIfExists(this.#options.path)
    } catch (err) {
      this.#options.log.error('MQTT password file not reloaded, keeping the previous users', { error: (err as Error).message })
      return false
    }
    const revoked = new Set<string>()
    for (const [name, entry] of this.#users) if (next.get(name)?.encoded !== entry.encoded) revoked.add(name)
    this.#users = next
    for (const name of revoked) this.#verified.delete(name)
    this.#warnIfExposed()
    this.#options.log.info('MQTT password file loaded', { path: this.#options.path, users: next.size })
    if (revoked.size > 0) this.#options.onRevoked?.(revoked)
    return true
  }

  #warnIfExposed(): void {
    if (isReadableByOthers(this.#options.path)) {
      this.#options.log.warn(`MQTT password file ${this.#options.path} is readable by other users: chmod 600 it (cloudos mqtt user writes it 0600)`)
    }
  }
}
