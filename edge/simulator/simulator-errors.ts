/**
 * Coded errors of the simulator. They mirror the shape of `CloudosError`
 * (code, message, hint) but live here until the codes join the shared
 * catalogue in `shared/errors.ts`.
 */
export const simulatorErrors = {
  SIM_ERR_CSV_UNREADABLE: 'Check the path and permissions of the --replay file.',
  SIM_ERR_CSV_FORMAT:
    'A replay file is UTF-8 CSV with the header "timestamp,value", then one "YYYY-MM-DD HH:MM:SS,<number>" row per line (UTC unless the timestamp has a zone).',
  SIM_ERR_BROKER_UNREACHABLE: 'Check --mqtt: is the edge (or broker) running and listening at that address?',
} as const

export type SimulatorErrorCode = keyof typeof simulatorErrors

export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode
  readonly hint: string
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(code: SimulatorErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'SimulatorError'
    this.code = code
    this.hint = simulatorErrors[code]
    this.details = details
  }
}

export function isSimulatorError(err: unknown): err is SimulatorError {
  return err instanceof SimulatorError
}
