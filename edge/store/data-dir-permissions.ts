import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../../shared/log/logger.js'
import { API_TOKEN_FILE } from '../api/auth/api-token.js'
import { PASSWORD_FILE_NAME } from '../broker/security/password-file.js'
import { DEVICE_IDENTITY_FILE, DEVICE_KEY_FILE } from '../hub-link/device-identity.js'
import { EDGE_DB_FILE } from './database.js'

/**
 * Files of the data dir that hold secrets or private data: the database
 * (config, telemetry) with its WAL and shared-memory files, the device's
 * identity and key, the local API token, the MQTT password file. New ones are created 0600; these
 * names are narrowed at every start (a data dir written by an older version
 * had them 0644).
 */
export const OWNER_ONLY_FILES = [EDGE_DB_FILE, `${EDGE_DB_FILE}-wal`, `${EDGE_DB_FILE}-shm`, DEVICE_IDENTITY_FILE, DEVICE_KEY_FILE, API_TOKEN_FILE, PASSWORD_FILE_NAME] as const

/**
 * Makes the data dir the edge's own: the directory 0700 (created so if
 * missing), the files above 0600. Runs before anything is read or written.
 * Logs what it narrowed, so an operator sees that an older data dir was open.
 */
export function secureDataDir(dataDir: string, log: Logger): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const narrowed: string[] = []
  const narrow = (path: string, mode: number) => {
    let current: number
    try {
      current = statSync(path).mode & 0o777
    } catch {
      return
    }
    if (current === mode) return
    chmodSync(path, mode)
    narrowed.push(`${path} ${current.toString(8)} -> ${mode.toString(8)}`)
  }
  narrow(dataDir, 0o700)
  for (const file of OWNER_ONLY_FILES) narrow(join(dataDir, file), 0o600)
  if (narrowed.length > 0) log.warn(`data dir permissions narrowed to the edge's user: ${narrowed.join(', ')}`)
}
