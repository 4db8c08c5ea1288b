import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CredentialCheckBusy, CredentialStore } from '../../edge/broker/security/credential-store.js'
import { addMqttUser, listMqttUsers, removeMqttUser } from '../../edge/broker/security/mqtt-users.js'
import { hashPassword, parsePasswordHash, verifyPassword } from '../../edge/broker/security/password-hash.js'
import { readPasswordFile } from '../../edge/broker/security/password-file.js'
import { silentLogger } from '../../shared/log/logger.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

let tmp: TempDir | undefined
afterEach(() => tmp?.remove())

describe('MQTT password hashes (scrypt)', () => {
  it('stores salt and parameters with the hash and verifies only the right password', async () => {
    const encoded = await hashPassword('correct horse')
    expect(encoded).toMatch(/^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(await hashPassword('correct horse')).not.toBe(encoded)
    const parsed = parsePasswordHash(encoded)
    expect(parsed).toBeDefined()
    expect(await verifyPassword('correct horse', parsed!)).toBe(true)
    expect(await verifyPassword('correct horsE', parsed!)).toBe(false)
  })

  it('refuses parameters that would take unbounded memory', () => {
    expect(parsePasswordHash('$scrypt$N=1073741824,r=8,p=1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5')).toBeUndefined()
    expect(parsePasswordHash('$scrypt$N=1000,r=8,p=1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5')).toBeUndefined()
  })
})

describe('the password file (cloudos mqtt user)', () => {
  it('adds, changes, lists and removes users in a 0600 file', async () => {
    tmp = makeTempDir('cloudos-mqtt-users-')
    const file = join(tmp.path, 'sub', 'mqtt-passwords')
    expect(await addMqttUser(file, 'boiler-1', 'pw-1')).toEqual({ replaced: false })
    expect(await addMqttUser(file, 'alpha', 'pw-2')).toEqual({ replaced: false })
    expect(await addMqttUser(file, 'boiler-1', 'pw-3')).toEqual({ replaced: true })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(listMqttUsers(file)).toEqual(['alpha', 'boiler-1'])
    expect(readFileSync(file, 'utf8')).not.toContain('pw-')
    removeMqttUser(file, 'alpha')
    expect(listMqttUsers(file)).toEqual(['boiler-1'])
    expect(() => removeMqttUser(file, 'alpha')).toThrow(expect.objectContaining({ code: 'EDGE_ERR_MQTT_USER_UNKNOWN' }))
    await expect(addMqttUser(file, 'a/+', 'x')).rejects.toMatchObject({ code: 'EDGE_ERR_MQTT_USERNAME_INVALID' })
  })

  it('names the malformed line of a broken file, and a reload keeps the previous users', async () => {
    tmp = makeTempDir('cloudos-mqtt-users-')
    const file = join(tmp.path, 'mqtt-passwords')
    await addMqttUser(file, 'boiler-1', 'pw-1')
    const store = new CredentialStore({ path: file, log: silentLogger })
    expect(await store.verify('boiler-1', Buffer.from('pw-1'))).toBe(true)
    expect(await store.verify('boiler-1', Buffer.from('pw-1'))).toBe(true) // the remembered HMAC
    expect(await store.verify('boiler-1', Buffer.from('pw-2'))).toBe(false)
    expect(await store.verify('nobody', Buffer.from('pw-1'))).toBe(false)
    writeFileSync(file, `${readFileSync(file, 'utf8')}garbage line\n`)
    expect(() => readPasswordFile(file)).toThrow(/line 2/)
    expect(store.reload()).toBe(false)
    expect(await store.verify('boiler-1', Buffer.from('pw-1'))).toBe(true)
    await addMqttUser(join(tmp.path, 'other'), 'x', 'y')
    writeFileSync(file, readFileSync(join(tmp.path, 'other'), 'utf8'))
    const revoked: string[] = []
    const watched = new CredentialStore({ path: file, log: silentLogger, onRevoked: (names) => revoked.push(...names) })
    await addMqttUser(file, 'x', 'changed')
    expect(watched.reload()).toBe(true)
    expect(revoked).toEqual(['x'])
    expect(await watched.verify('x', Buffer.from('y'))).toBe(false)
    expect(await watched.verify('x', Buffer.from('changed'))).toBe(true)
  })

  it('bounds the scrypt work of a CONNECT flood: 2 checks run, 32 wait, the rest are refused at once', async () => {
    tmp = makeTempDir('cloudos-mqtt-users-')
    const file = join(tmp.path, 'mqtt-passwords')
    await addMqttUser(file, 'boiler-1', 'pw-1')
    const store = new CredentialStore({ path: file, log: silentLogger })
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => store.verify(i % 2 === 0 ? 'boiler-1' : 'nobody', Buffer.from('guess'))))
    const busy = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof CredentialCheckBusy)
    expect(busy).toHaveLength(6)
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === false)).toHaveLength(34)
    // Once the flood has passed, checks run again.
    expect(await store.verify('boiler-1', Buffer.from('pw-1'))).toBe(true)
  })
})
