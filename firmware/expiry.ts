import { CloudosError } from '../shared/errors.js'

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--expires-in 90d` / `--expires-at ISO` to an ISO date; default 90 days. */
export function expiryFromFlags(flags: { expiresIn?: string; expiresAt?: string }, now = Date.now()): string {
  if (flags.expiresAt !== undefined) {
    const at = Date.parse(flags.expiresAt)
    if (Number.isNaN(at)) throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `--expires-at ${JSON.stringify(flags.expiresAt)} is not an ISO 8601 date`)
    return new Date(at).toISOString()
  }
  const match = /^(\d+)([smhd])$/.exec(flags.expiresIn ?? '90d')
  if (match === null) throw new CloudosError('FIRMWARE_ERR_INPUT_INVALID', `--expires-in ${JSON.stringify(flags.expiresIn)} must be a number and a unit: 30m, 12h, 90d`)
  return new Date(now + Number(match[1]) * (UNITS[match[2] as string] as number)).toISOString()
}
