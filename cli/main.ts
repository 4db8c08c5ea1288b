import { Command } from 'commander'
import { registerBenchCommand } from './commands/bench.js'
import { registerConfigCommand } from './commands/config.js'
import { registerDemoCommand } from './commands/demo.js'
import { registerDetectCommand } from './commands/detect.js'
import { registerEdgeCommand } from './commands/edge.js'
import { registerFirmwareCommand } from './commands/firmware.js'
import { registerHubCommand } from './commands/hub.js'
import { registerModelCommand } from './commands/model.js'
import { registerModelEval } from './commands/model-eval.js'
import { registerMqttCommand } from './commands/mqtt.js'
import { registerSimulateCommand } from './commands/simulate.js'
import { registerSuperviseCommand } from './commands/supervise.js'
import { runProgram } from './run-program.js'

const program = new Command()
program
  .name('cloudos')
  .description('CloudOS Lite: edge runtime and fleet hub for IoT sensor data')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  // A command's options come before its subcommand (`cloudos edge tls init --data-dir DIR`
  // gives --data-dir to `init`, not to `edge`).
  .enablePositionalOptions()

registerEdgeCommand(program)
registerHubCommand(program)
registerSimulateCommand(program)
registerDemoCommand(program)
registerBenchCommand(program)
registerModelEval(registerModelCommand(program))
registerDetectCommand(program)
registerFirmwareCommand(program)
registerSuperviseCommand(program)
registerConfigCommand(program)
registerMqttCommand(program)

await runProgram(program)
