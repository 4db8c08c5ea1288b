import { CommanderError, type Command } from 'commander'
import { CloudosError } from '../shared/errors.js'

/**
 * Parses `process.argv` with `program` and turns a failure into the CLI's
 * exit codes: commander's own (usage), 2 with the code and hint of a
 * CloudosError, 1 with the stack of anything else.
 */
export async function runProgram(program: Command): Promise<void> {
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
}
