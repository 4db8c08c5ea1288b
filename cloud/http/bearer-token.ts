import { createHash, randomBytes } from 'node:crypto'

/** 32 random bytes, base64url: what the client holds. Only its hash is stored. */
export function newBearerToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashBearerToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
