import { CloudosError, type ErrorCode } from '../../shared/errors.js'

type NabErrorCode = Extract<ErrorCode, `NAB_ERR_${string}`>

/** A NAB corpus, its labels, profiles or results are not what NAB's layout requires. */
export class NabError extends CloudosError {
  constructor(code: NabErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
    this.name = 'NabError'
  }
}
