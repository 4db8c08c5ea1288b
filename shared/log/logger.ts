/** The small logging interface the runtime and hub depend on (injectable, silent in tests). */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/** One line per event on stderr: `2026-11-26T12:00:00.000Z info  message {"k":"v"}`. */
export function consoleLogger(name: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields === undefined ? '' : ` ${JSON.stringify(fields)}`
    stream.write(`${new Date().toISOString()} ${level.padEnd(5)} [${name}] ${message}${extra}\n`)
  }
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}
