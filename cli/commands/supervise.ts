import { resolve } from 'node:path'
import type { Command } from 'commander'

/**
 * `cloudos supervise --data-dir DIR [edge flags]`: runs `cloudos edge` from
 * the active OTA slot under a small supervisor (restarts, slot switches,
 * trial health checks, rollback; docs/operations.md).
 */
export interface SuperviseCommandOptions {
  /**
   * The script each edge child runs, relative to its slot's root (default
   * `bin/cloudos.js`, then `edge ...`). It chooses what code runs, so only
   * code on the device sets it (a test entry point under test/harness/),
   * never a flag or a config document.
   */
  childEntry?: string
}

export function registerSuperviseCommand(program: Command, options: SuperviseCommandOptions = {}): void {
  program
    .command('supervise')
    .description('run `cloudos edge` under the OTA supervisor: A/B runtime slots, restarts, trial health checks and automatic rollback (takes the edge flags)')
    .requiredOption('--data-dir <dir>', 'edge data directory (holds ota/slots.json and the slots)')
    .option('--config <file>', 'edge JSON config file (the ota section configures the supervisor too)')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption('-h, --help', 'show help; every other flag is passed to `cloudos edge`')
    .action(async (flags: { dataDir: string; config?: string }) => {
      const [{ loadEdgeConfig }, { Supervisor }, { consoleLogger }, { packageRoot }] = await Promise.all([
        import('../../edge/config/load.js'),
        import('../../edge/ota/supervisor.js'),
        import('../../shared/log/logger.js'),
        import('../../shared/package-root.js'),
      ])
      const config = loadEdgeConfig(flags.config, {})
      const argv = process.argv
      const edgeArgs = argv.slice(argv.indexOf('supervise') + 1)
      // The child runs from a slot directory: paths must not depend on our working directory.
      const absolute = edgeArgs.map((arg, i) => (i > 0 && (edgeArgs[i - 1] === '--data-dir' || edgeArgs[i - 1] === '--config') ? resolve(arg) : arg))
      const supervisor = new Supervisor({
        dataDir: resolve(flags.dataDir),
        edgeArgs: absolute,
        config: config.ota,
        factoryRoot: packageRoot(),
        ...(options.childEntry === undefined ? {} : { childEntry: options.childEntry }),
        log: consoleLogger('supervisor'),
      })
      let signals = 0
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.on(signal, () => {
          signals++
          if (signals > 1) process.exit(130)
          supervisor.stop(signal)
        })
      }
      process.on('SIGHUP', () => supervisor.forward('SIGHUP'))
      await supervisor.run()
      process.exit(0)
    })
}
