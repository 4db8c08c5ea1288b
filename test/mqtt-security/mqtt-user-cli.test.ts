import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CredentialStore } from '../../edge/broker/security/credential-store.js'
import { silentLogger } from '../../shared/log/logger.js'
import { cloudosBin } from '../../shared/package-root.js'
import { run, runCli } from '../helpers/processes.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

/** The built CLI (`npm run build` first), as a user runs it. */
describe('cloudos mqtt user (the mosquitto_passwd workflow)', () => {
  let dir: TempDir
  beforeAll(() => {
    dir = makeTempDir('cloudos-mqtt-cli-')
  })
  afterAll(() => dir?.remove())

  it('adds users from --password and from stdin, lists and removes them, in a 0600 file', async () => {
    const file = join(dir.path, 'mqtt-passwords')
    const added = await runCli(['mqtt', 'user', 'add', 'boiler-1', '--data-dir', dir.path, '--password', 'pw-boiler'])
    expect(added.code, added.stderr).toBe(0)
    expect(added.stdout).toContain('added MQTT user boiler-1')
    const piped = await run(process.execPath, [cloudosBin(), 'mqtt', 'user', 'add', 'pump-7', '--data-dir', dir.path], { input: 'pw from stdin\n' })
    expect(piped.code, piped.stderr).toBe(0)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    // Only hashes are stored (a 2-letter probe could occur in a random salt by chance: look for the whole passwords).
    expect(readFileSync(file, 'utf8')).not.toContain('pw-boiler')
    expect(readFileSync(file, 'utf8')).not.toContain('pw from stdin')
    const store = new CredentialStore({ path: file, log: silentLogger })
    expect(await store.verify('pump-7', Buffer.from('pw from stdin'))).toBe(true)
    expect(await store.verify('boiler-1', Buffer.from('pw-boiler'))).toBe(true)
    expect((await runCli(['mqtt', 'user', 'list', '--data-dir', dir.path])).stdout).toBe('boiler-1\npump-7\n')
    expect((await runCli(['mqtt', 'user', 'remove', 'pump-7', '--data-dir', dir.path])).code).toBe(0)
    expect((await runCli(['mqtt', 'user', 'list', '--password-file', file])).stdout).toBe('boiler-1\n')
  })

  it('refuses a username that would widen a topic filter, and an unknown user, with their codes', async () => {
    const bad = await runCli(['mqtt', 'user', 'add', 'sensors/+', '--data-dir', dir.path, '--password', 'x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('EDGE_ERR_MQTT_USERNAME_INVALID')
    const unknown = await runCli(['mqtt', 'user', 'remove', 'nobody', '--data-dir', dir.path])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('EDGE_ERR_MQTT_USER_UNKNOWN')
  })

  it('cloudos edge on a public interface without users exits with EDGE_ERR_MQTT_PUBLIC_NO_AUTH and the fix', async () => {
    const edgeDir = makeTempDir('cloudos-mqtt-cli-edge-')
    try {
      const result = await runCli(['edge', '--data-dir', edgeDir.path, '--mqtt-host', '0.0.0.0', '--mqtt-port', '0', '--http-port', '0'], { timeoutMs: 30_000 })
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('EDGE_ERR_MQTT_PUBLIC_NO_AUTH')
      expect(result.stderr).toContain('cloudos mqtt user add')
    } finally {
      edgeDir.remove()
    }
  })
})
