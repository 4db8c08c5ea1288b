import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { canConnect, freePort, run, stopChild, type ProcessResult } from '../helpers/processes.js'
import { sleep } from '../helpers/wait.js'

export const MOSQUITTO = '/usr/sbin/mosquitto'
export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub'

export interface MosquittoBroker {
  port: number
  url: string
  process: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts Debian's mosquitto on a free loopback port with a generated config
 * (`listener PORT 127.0.0.1`, `allow_anonymous true`). Mosquitto cannot
 * report a port it picked itself, so a free port is chosen first; a lost race
 * for it is retried.
 */
export async function startMosquitto(workDir: string): Promise<MosquittoBroker> {
  let lastLog = ''
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const configFile = join(workDir, `mosquitto-${port}.conf`)
    writeFileSync(configFile, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`)
    const child = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d))
    const deadline = Date.now() + 5000
    while (Date.now() < deadline && child.exitCode === null) {
      if (await canConnect(port)) {
        return { port, url: `mqtt://127.0.0.1:${port}`, process: child, stop: () => stopChild(child, 'SIGTERM') }
      }
      await sleep(25)
    }
    await stopChild(child, 'SIGKILL')
    lastLog = log
  }
  throw new Error(`mosquitto did not start: ${lastLog}`)
}

/** Publishes one message with Debian's mosquitto_pub (a third-party MQTT client). */
export function mosquittoPub(
  port: number,
  topic: string,
  message: { text: string } | { file: string },
  options: { qos?: 0 | 1 | 2; retain?: boolean } = {},
): Promise<ProcessResult> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', String(options.qos ?? 0), '-V', 'mqttv311']
  if ('text' in message) args.push('-m', message.text)
  else args.push('-f', message.file)
  if (options.retain) args.push('-r')
  return run(MOSQUITTO_PUB, args, { timeoutMs: 10_000 })
}

/** Publishes each line of stdin as one message (`mosquitto_pub -l`). */
export function mosquittoPubLines(port: number, topic: string, lines: readonly string[], qos: 0 | 1 | 2): Promise<ProcessResult> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', String(qos), '-V', 'mqttv311', '-l']
  return run(MOSQUITTO_PUB, args, { timeoutMs: 20_000, input: lines.join('\n') + '\n' })
}
