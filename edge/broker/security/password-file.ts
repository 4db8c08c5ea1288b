import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../../../shared/errors.js'
import { writeFileAtomic } from '../../../shared/atomic-file.js'
import { parsePasswordHash, type ParsedHash } from './password-hash.js'

/**
 * The MQTT password file: one `username:hash` line per client, like
 * mosquitto_passwd's, with scrypt hashes (password-hash.ts). Always written
 * 0600 and atomically (temp file + rename), so a reader never sees half a file.
 */

/** Default location: inside the edge's data dir (mqtt.passwordFile overrides it). */
export const PASSWORD_FILE_NAME = 'mqtt-passwords'

export function defaultPasswordFile(dataDir: string): string {
  return join(dataDir, PASSWORD_FILE_NAME)
}

/**
 * A username is also a topic level (`sensors/%u/#` in the default ACL, `%u`
 * in patterns), so it is restricted to the characters of a sensor id: no
 * `/`, `+`, `#` that would widen a filter, no `:` that separates the hash.
 */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

export function checkUsername(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new CloudosError('EDGE_ERR_MQTT_USERNAME_INVALID', `invalid MQTT username ${JSON.stringify(username)}: use 1-64 characters of A-Z a-z 0-9 _ . -`, { username })
  }
}

export interface PasswordEntry {
  /** The line as stored, to tell a changed password from an unchanged one on reload. */
  encoded: string
  hash: ParsedHash
}

/** 64k users is far beyond an edge's sensors; the bound keeps a runaway file from taking memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024

/** Reads and parses the file; a malformed line is EDGE_ERR_MQTT_PASSWORD_FILE naming the line (never the hash). */
export function readPasswordFile(path: string): Map<string, PasswordEntry> {
  let text: string
  try {
    if (statSync(path).size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`)
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new CloudosError('EDGE_ERR_MQTT_PASSWORD_FILE', `cannot read the MQTT password file ${path}: ${(err as Error).message}`, { path })
  }
  return parsePasswordFile(text, path)
}

export function parsePasswordFile(text: string, source: string): Map<string, PasswordEntry> {
  const users = new Map<string, PasswordEntry>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    const username = colon < 0 ? '' : line.slice(0, colon)
    const encoded = line.slice(colon + 1)
    const hash = parsePasswordHash(encoded)
    if (!USERNAME_PATTERN.test(username) || hash === undefined) {
      throw new CloudosError(
        'EDGE_ERR_MQTT_PASSWORD_FILE',
        `${source} line ${i + 1} is not "username:$scrypt$N=..,r=..,p=..$salt$key" (write entries with "cloudos mqtt user add")`,
        { path: source, line: i + 1 },
      )
    }
    users.set(username, { encoded, hash })
  }
  return users
}

/** The file's entries, or none when it does not exist yet. */
export function readPasswordFileIfExists(path: string): Map<string, PasswordEntry> {
  return existsSync(path) ? readPasswordFile(path) : new Map()
}

export function writePasswordFile(path: string, users: ReadonlyMap<string, PasswordEntry>): void {
  const lines = [...users.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, entry]) => `${name}:${entry.encoded}\n`)
  writeFileAtomic(path, lines.join(''), 0o600)
  // The temp file is created 0600 but the umask may have narrowed it further; say exactly what we want.
  chmodSync(path, 0o600)
}

/** True when others than the owner may read the file (it holds password hashes). */
export function isReadableByOthers(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0
  } catch {
    return false
  }
}
