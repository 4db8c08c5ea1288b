import { CloudosError, type ErrorCode } from '../../shared/errors.js'

type DetectErrorCode = Extract<ErrorCode, `DETECT_ERR_${string}`>

/** `cloudos detect` cannot read its input or write its output. */
export class DetectError extends CloudosError {
  constructor(code: DetectErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
    this.name = 'DetectError'
  }
}
