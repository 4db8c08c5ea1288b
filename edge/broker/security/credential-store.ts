import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Logger } from '../../../shared/log/logger.js'
import { hashPassword, parsePasswordHash, verifyPassword, type ParsedHash } from './password-hash.js'
import { isReadableByOthers, readPasswordFileIfExists, type PasswordEntry } from './password-file.js'
import { watchFileChanges } from './watch-file.js'

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

  get userCount(): number {
    return this.#users.size
  }

  has(username: string): boolean {
    return this.#users.has(username)
  }

  /** The stored entry's text for a user (to notice a password change for a connected client). */
  entryOf(username: string): string | undefined {
    return this.#users.get(username)?.encoded
  }

  /** True when `password` is the user's. An unknown user costs a scrypt too, so timing does not reveal which names exist. */
  async verify(username: string, password: Buffer): Promise<boolean> {
    const entry = this.#users.get(username)
    if (entry === undefined) {
      this.#dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parsePasswordHash(h) as ParsedHash)
      await verifyPassword(password.toString('utf8'), await this.#dummy)
      return false
    }
    const digest = createHmac('sha256', this.#cacheKey).update(password).digest()
    const known = this.#verified.get(username)
    if (known !== undefined && known.encoded === entry.encoded) return timingSafeEqual(known.digest, digest)
    const ok = await verifyPassword(password.toString('utf8'), entry.hash)
    // The file may have changed while scrypt ran: remember only against the entry that was checked.
    if (ok && this.#users.get(username) === entry) this.#verified.set(username, { encoded: entry.encoded, digest })
    return ok
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
