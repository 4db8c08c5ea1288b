import { Command, CommanderError } from 'commander'
import { CloudosError } from '../shared/errors.js'
import { registerBenchCommand } from './commands/bench.js'
import { registerDemoCommand } from './commands/demo.js'
import { registerEdgeCommand } from './commands/edge.js'
import { registerFirmwareCommand } from './commands/firmware.js'
import { registerHubCommand } from './commands/hub.js'
import { registerSimulateCommand } from './commands/simulate.js'
import { registerSuperviseCommand } from './commands/supervise.js'

const program = new Command()
program
  .name('cloudos')
  .description('CloudOS Lite: edge runtime and fleet hub for IoT sensor data')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()

registerEdgeCommand(program)
registerHubCommand(program)
registerSimulateCommand(program)
registerDemoCommand(program)
registerBenchCommand(program)
registerFirmwareCommand(program)
registerSuperviseCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed the message (and help where asked for).
    process.exit(err.exitCode)
  }
  if (err instanceof CloudosError) {
    process.stderr.write(`cloudos: ${err.code}: ${err.message}\n  hint: ${err.hint}\n`)
    process.exit(2)
  }
  process.stderr.write(`cloudos: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}
