// Test entry point: `node dist/test/harness/edge-with-faults.js edge [flags]`
// runs the same `cloudos edge` command with fault points taken from the
// test's environment (fault-entries.ts). The product entry (bin/cloudos.js)
// has no way to set them.
import { Command } from 'commander'
import { registerEdgeCommand } from '../../cli/commands/edge.js'
import { runProgram } from '../../cli/run-program.js'
import { faultPointsFromEnv } from './fault-entries.js'

const program = new Command().name('cloudos').exitOverride()
registerEdgeCommand(program, { faults: faultPointsFromEnv(process.env) })
await runProgram(program)
