import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { CloudosError } from '../../../shared/errors.js'
import { hashPassword, parsePasswordHash, type ParsedHash } from './password-hash.js'
import { checkUsername, readPasswordFileIfExists, writePasswordFile } from './password-file.js'

/**
 * The `mosquitto_passwd` workflow over the password file: add (or change) a
 * user, remove one, list them. The running broker notices the new file by
 * itself (credential-store.ts); nothing needs a restart.
 */

/** Adds `username` or replaces its password. Returns whether the user existed before. */
export async function addMqttUser(passwordFile: string, username: string, password: string): Promise<{ replaced: boolean }> {
  checkUsername(username)
  if (password.length === 0) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'the MQTT password is empty', { username })
  const encoded = await hashPassword(password)
  const users = readPasswordFileIfExists(passwordFile)
  const replaced = users.has(username)
  users.set(username, { encoded, hash: parsePasswordHash(encoded) as ParsedHash })
  // The data dir of the edge is private (0700); create it so when the file comes first.
  mkdirSync(dirname(passwordFile), { recursive: true, mode: 0o700 })
  writePasswordFile(passwordFile, users)
  return { replaced }
}

export function removeMqttUser(passwordFile: string, username: string): void {
  const users = readPasswordFileIfExists(passwordFile)
  if (!users.delete(username)) {
    throw new CloudosError('EDGE_ERR_MQTT_USER_UNKNOWN', `no MQTT user ${JSON.stringify(username)} in ${passwordFile}`, { username, path: passwordFile })
  }
  writePasswordFile(passwordFile, users)
}

export function listMqttUsers(passwordFile: string): string[] {
  return [...readPasswordFileIfExists(passwordFile).keys()].sort()
}
