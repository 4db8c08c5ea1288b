import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../../shared/atomic-file.js'
import { CloudosError } from '../../../shared/errors.js'

/**
 * The local API's bearer token: 32 random bytes (base64url) in
 * `<dataDir>/api-token`, mode 0600, created at the edge's first start. Who
 * can read the file (the edge's user, root) can change the edge through its
 * API; nobody else can, whatever reaches the port.
 */
export const API_TOKEN_FILE = 'api-token'

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

export function apiTokenPath(dataDir: string): string {
  return join(dataDir, API_TOKEN_FILE)
}

function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Reads the token; API_ERR_UNAUTHORIZED naming the file when it is missing or not a token. */
export function readApiToken(dataDir: string): string {
  const path = apiTokenPath(dataDir)
  let text: string
  try {
    text = readFileSync(path, 'utf8').trim()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CloudosError(
      'API_ERR_UNAUTHORIZED',
      code === 'ENOENT'
        ? `${path} does not exist: start the edge once with --data-dir ${dataDir} (it creates the token), or run \`cloudos edge token rotate --data-dir ${dataDir}\``
        : `cannot read ${path} (${code ?? (err as Error).message}): run as the edge's user (or root)`,
      { path },
    )
  }
  if (!TOKEN_PATTERN.test(text)) throw new CloudosError('API_ERR_UNAUTHORIZED', `${path} does not hold an API token: run \`cloudos edge token rotate --data-dir ${dataDir}\``, { path })
  return text
}

/** The token, created (0600) when the data dir has none; an existing file is narrowed to 0600. */
export function ensureApiToken(dataDir: string): string {
  const path = apiTokenPath(dataDir)
  try {
    chmodSync(path, 0o600)
    return readApiToken(dataDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  writeFileAtomic(path, `${newToken()}\n`, 0o600)
  return readApiToken(dataDir)
}

/** Replaces the token (atomically, 0600); a running edge takes the new one at its next request. */
export function rotateApiToken(dataDir: string): string {
  const token = newToken()
  writeFileAtomic(apiTokenPath(dataDir), `${token}\n`, 0o600)
  return token
}

/**
 * The token in effect, re-read when the file changes (a rotation renames a
 * new file into place: another inode or mtime), so `cloudos edge token
 * rotate` takes effect without a restart. A stat per state-changing request.
 */
export class ApiTokenSource {
  readonly #dataDir: string
  #token: string
  #stamp: string

  constructor(dataDir: string) {
    this.#dataDir = dataDir
    this.#token = ensureApiToken(dataDir)
    this.#stamp = this.#currentStamp()
  }

  #currentStamp(): string {
    try {
      const s = statSync(apiTokenPath(this.#dataDir))
      return `${s.ino}:${s.mtimeMs}:${s.size}`
    } catch {
      return 'missing'
    }
  }

  /** The current token (the last readable one if the file went missing or became unreadable). */
  current(): string {
    const stamp = this.#currentStamp()
    if (stamp !== this.#stamp && stamp !== 'missing') {
      try {
        this.#token = readApiToken(this.#dataDir)
        this.#stamp = stamp
      } catch {
        // Keep the last good token: a half-edited file must not open the API.
      }
    }
    return this.#token
  }
}
