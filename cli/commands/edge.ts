import { resolve } from 'node:path'
import type { Command } from 'commander'
import { CloudosError } from '../../shared/errors.js'
import type { FaultPoints } from '../../edge/fault-points.js'
import { portFlag, urlFlag } from '../flags.js'
import { runUntilSignal } from '../run-until-signal.js'
import { registerEdgeTlsCommand } from './edge-tls.js'

interface EdgeFlags {
  dataDir?: string
  mqttPort?: number
  mqttHost?: string
  httpPort?: number
  httpHost?: string
  broker?: string
  config?: string
  hub?: string
  enrollToken?: string
  insecureHttp?: boolean
}

export interface EdgeCommandOptions {
  /**
   * Crash and hold points (edge/fault-points.ts). Only a test entry point
   * passes them (test/harness/edge-with-faults.ts): `cloudos edge` runs with none.
   */
  faults?: FaultPoints
}

export function registerEdgeCommand(program: Command, options: EdgeCommandOptions = {}): void {
  const edge = program
    .command('edge')
    .description('run the edge runtime: MQTT broker, ingest into SQLite, local HTTP API (`cloudos edge tls init`: its broker\'s TLS files)')
    // Required, but checked in the action: commander checks a parent's required
    // options for its subcommands too (`cloudos edge tls init` has its own --data-dir).
    .option('--data-dir <dir>', 'directory for the edge database (created if missing; required)')
    .option('--mqtt-port <port>', 'embedded broker TCP port (default 1883; 0 = any free port)', portFlag('--mqtt-port'))
    .option('--mqtt-host <host>', 'embedded broker interface (default 127.0.0.1; any other needs MQTT users or mqtt.allowAnonymous, see docs/mqtt-security.md)')
    .option('--http-port <port>', 'local HTTP API port (default 8081; 0 = any free port)', portFlag('--http-port'))
    .option('--http-host <host>', 'local HTTP API interface (default 127.0.0.1)')
    .option('--broker <url>', 'use this external MQTT broker (e.g. mqtt://127.0.0.1:1883) instead of the embedded one', urlFlag('--broker', ['mqtt:', 'mqtts:']))
    .option('--config <file>', 'JSON config file (see docs/configuration.md); flags override it')
    .option('--hub <url>', 'fleet hub to enrol with and report to (e.g. https://hub.example:8080); the edge works offline without it', urlFlag('--hub', ['http:', 'https:']))
    .option('--enroll-token <token>', 'single-use enrolment token from the hub admin, <secret>.<CA pin> (first start only; the identity and the pinned hub CA are then kept in the data dir)')
    .option('--insecure-http', 'allow a plain http:// hub URL: the hub is then NOT authenticated (loopback demos, or a TLS proxy on this host)')
    .action(async (flags: EdgeFlags) => {
      if (flags.dataDir === undefined) return edge.error("error: required option '--data-dir <dir>' not specified")
      // Loaded here, not at the top: every command registers at start-up, and
      // the runtime's dependencies are resident memory the other commands
      // (and their startup time) should not pay for.
      const [{ loadEdgeConfig }, { EdgeRuntime }, { consoleLogger }] = await Promise.all([
        import('../../edge/config/load.js'),
        import('../../edge/runtime.js'),
        import('../../shared/log/logger.js'),
      ])
      const config = loadEdgeConfig(flags.config, {
        mqtt: { port: flags.mqttPort, host: flags.mqttHost, brokerUrl: flags.broker },
        http: { port: flags.httpPort, host: flags.httpHost },
        hub: { url: flags.hub, ...(flags.insecureHttp ? { insecureHttp: true } : {}) },
      })
      if (flags.enrollToken !== undefined && config.hub.url === undefined) {
        throw new CloudosError('CLI_ERR_INVALID_FLAG', '--enroll-token needs --hub URL (or hub.url in the config file): the hub to enrol with')
      }
      const logger = consoleLogger('edge')
      const { SWITCH_EXIT_CODE } = await import('../../edge/ota/ota-paths.js')
      const runtime: InstanceType<typeof EdgeRuntime> = new EdgeRuntime({
        dataDir: resolve(flags.dataDir),
        config,
        logger,
        enrolmentToken: flags.enrollToken,
        ...(options.faults === undefined ? {} : { faults: options.faults }),
        // An installed runtime update: stop cleanly, then let the supervisor switch slots.
        requestSwitch: () => void runtime.stop().finally(() => process.exit(SWITCH_EXIT_CODE)),
      })
      if (process.send !== undefined) {
        // Under `cloudos supervise`: when the supervisor dies (even kill -9), stop too.
        process.once('disconnect', () => void runtime.stop().finally(() => process.exit(0)))
      }
      const endpoints = await runtime.start()
      // One machine-readable line for supervisors, tests and benchmarks.
      process.stdout.write(`${JSON.stringify({ event: 'edge.ready', ...endpoints, pid: process.pid })}\n`)
      runUntilSignal(() => runtime.stop(), (signal) => logger.info(`${signal} received: stopping`))
    })
  registerTokenCommand(edge)
  registerEdgeTlsCommand(edge)
}

/**
 * `cloudos edge token rotate|show --data-dir DIR`: the local API's bearer
 * token (<dataDir>/api-token, 0600). A running edge takes a rotated token at
 * its next request; whoever held the old one is locked out.
 */
function registerTokenCommand(edge: Command): void {
  const token = edge.command('token').description("the local API's bearer token (file api-token in the data dir, mode 0600)")
  token
    .command('rotate')
    .description('replace the token; the running edge uses the new one from its next request (--data-dir DIR: the edge\'s)')
    // Its own --data-dir: with positional options (cli/main.ts), the `edge` command's does not reach subcommands.
    .requiredOption('--data-dir <dir>', "the edge's data dir")
    .option('--print', 'print the new token on stdout')
    .action(async (_flags: unknown, command: Command) => {
      const flags = command.opts<{ dataDir: string; print?: boolean }>()
      const { rotateApiToken, apiTokenPath } = await import('../../edge/api/auth/api-token.js')
      const dataDir = resolve(flags.dataDir)
      const { existsSync } = await import('node:fs')
      if (!existsSync(dataDir)) throw new CloudosError('CLI_ERR_INVALID_FLAG', `--data-dir ${dataDir} does not exist`)
      const value = rotateApiToken(dataDir)
      process.stdout.write(flags.print === true ? `${value}\n` : `new token written to ${apiTokenPath(dataDir)} (mode 0600)\n`)
    })
  token
    .command('show')
    .description('print the token (for scripts: curl -H "Authorization: Bearer $(cloudos edge token show --data-dir DIR)")')
    .requiredOption('--data-dir <dir>', "the edge's data dir")
    .action(async (_flags: unknown, command: Command) => {
      const flags = command.opts<{ dataDir: string }>()
      const { readApiToken } = await import('../../edge/api/auth/api-token.js')
      process.stdout.write(`${readApiToken(resolve(flags.dataDir))}\n`)
    })
}
