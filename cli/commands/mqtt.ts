import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'

interface UserFlags {
  dataDir?: string
  passwordFile?: string
  password?: string
}

/**
 * `cloudos mqtt user add|remove|list`: the embedded broker's users, in the
 * password file the edge reads (`mqtt-passwords` in its data dir, or
 * mqtt.passwordFile), as `mosquitto_passwd` manages Mosquitto's. The running
 * edge picks up the change within seconds, or at once on SIGHUP.
 */
export function registerMqttCommand(program: Command): void {
  const mqtt = program.command('mqtt').description("manage the embedded MQTT broker's users (see docs/mqtt-security.md)")
  const user = mqtt.command('user').description('add, remove or list MQTT users (scrypt hashes in a 0600 file)')
  const withFile = (command: Command) =>
    command
      .option('--data-dir <dir>', "the edge's data directory (its password file is mqtt-passwords in it)")
      .option('--password-file <file>', 'the password file itself (when mqtt.passwordFile is set)')

  withFile(user.command('add').description('add a user, or change its password (prompts, or reads stdin, unless --password)').argument('<username>', 'e.g. the sensor id: it may publish sensors/<username>/# by default'))
    .option('--password <password>', 'the password (visible in the process list and shell history: prefer the prompt or stdin)')
    .action(async (username: string, flags: UserFlags) => {
      const { addMqttUser } = await import('../../edge/broker/security/mqtt-users.js')
      const file = passwordFileOf(flags)
      const password = flags.password ?? (await readPassword())
      const { replaced } = await addMqttUser(file, username, password)
      process.stdout.write(`${replaced ? 'changed the password of' : 'added'} MQTT user ${username} in ${file}\n`)
    })

  withFile(user.command('remove').description('remove a user (its connections are closed by the running edge)').argument('<username>'))
    .action(async (username: string, flags: UserFlags) => {
      const { removeMqttUser } = await import('../../edge/broker/security/mqtt-users.js')
      const file = passwordFileOf(flags)
      removeMqttUser(file, username)
      process.stdout.write(`removed MQTT user ${username} from ${file}\n`)
    })

  withFile(user.command('list').description('list the users, one a line')).action(async (flags: UserFlags) => {
    const { listMqttUsers } = await import('../../edge/broker/security/mqtt-users.js')
    for (const name of listMqttUsers(passwordFileOf(flags))) process.stdout.write(`${name}\n`)
  })
}

function passwordFileOf(flags: UserFlags): string {
  if (flags.passwordFile !== undefined) return resolve(flags.passwordFile)
  if (flags.dataDir !== undefined) return resolve(flags.dataDir, 'mqtt-passwords')
  throw new CloudosError('CLI_ERR_INVALID_FLAG', 'give --data-dir DIR (the edge data directory) or --password-file FILE')
}

/** Prompts twice on a terminal (without echo); otherwise takes the first line of stdin (scripts: `echo "$PW" | cloudos mqtt user add ...`). */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = ''
    for await (const chunk of process.stdin) {
      text += String(chunk)
      if (text.includes('\n') || text.length > 4096) break
    }
    return text.split(/\r?\n/, 1)[0] ?? ''
  }
  const first = await promptHidden('Password: ')
  const second = await promptHidden('Reenter password: ')
  if (first !== second) throw new CloudosError('CLI_ERR_INVALID_FLAG', 'the passwords do not match')
  return first
}

function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
  // Echo nothing but the prompt itself while the password is typed.
  const output = rl as unknown as { _writeToOutput: (text: string) => void }
  let prompted = false
  output._writeToOutput = (text: string) => {
    if (!prompted) process.stderr.write(text)
    prompted = true
  }
  return new Promise((resolvePassword) =>
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolvePassword(answer)
    }),
  )
}
