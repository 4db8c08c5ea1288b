import { CloudosError } from '../errors.js'

/** The simulator's error codes (from the shared catalogue in shared/errors.ts). */
export type SimulatorErrorCode = 'SIM_ERR_CSV_UNREADABLE' | 'SIM_ERR_CSV_FORMAT' | 'SIM_ERR_BROKER_UNREACHABLE'

export class SimulatorError extends CloudosError {
  declare readonly code: SimulatorErrorCode

  constructor(code: SimulatorErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
    this.name = 'SimulatorError'
  }
}

export function isSimulatorError(err: unknown): err is SimulatorError {
  return err instanceof SimulatorError
}
