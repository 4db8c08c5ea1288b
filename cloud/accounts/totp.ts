import { generateSecret, generateURI, verify } from 'otplib'

/** RFC 6238 defaults every authenticator app accepts: SHA-1, 6 digits, 30 s. */
export const TOTP_PERIOD_SECONDS = 30

export function newTotpSecret(): string {
  return generateSecret()
}

export function totpUri(secret: string, username: string, issuer = 'CloudOS Lite hub'): string {
  return generateURI({ issuer, label: username, secret })
}

/**
 * Checks a code at `nowMs`, allowing `toleranceSteps` of clock drift either
 * side. Returns the RFC 6238 time step it matched (the caller stores it and
 * refuses that step and earlier ones next time: a replayed code), or null.
 */
export async function verifyTotp(secret: string, code: string, nowMs: number, toleranceSteps: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: toleranceSteps * TOTP_PERIOD_SECONDS,
  })
  return result.valid && 'timeStep' in result ? result.timeStep : null
}
