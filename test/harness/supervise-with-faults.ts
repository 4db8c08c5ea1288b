// Test entry point: `node dist/test/harness/supervise-with-faults.js supervise [flags]`
// runs the same `cloudos supervise` command, whose edge children run
// edge-with-faults.js from their slot (a runtime bundle built from this
// checkout's dist/ carries it), so fault points reach every child.
import { Command } from 'commander'
import { registerSuperviseCommand } from '../../cli/commands/supervise.js'
import { runProgram } from '../../cli/run-program.js'
import { EDGE_WITH_FAULTS } from './fault-entries.js'

const program = new Command().name('cloudos').exitOverride()
registerSuperviseCommand(program, { childEntry: EDGE_WITH_FAULTS })
await runProgram(program)
