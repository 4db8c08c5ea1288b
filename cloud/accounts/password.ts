import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

// N=2^15, r=8, p=1: 32 MiB and ~140 ms per hash on the 2-core dev/CI machine
// (measured with crypto.scryptSync), so a guess costs an attacker the same and
// a login stays well under a second. OWASP's baseline is N=2^17 (128 MiB); the
// parameters are stored with each hash, so they can be raised later without
// breaking existing accounts.
const DEFAULT_COST = { N: 2 ** 15, r: 8, p: 1 }
const KEY_LENGTH = 32

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { ...options, maxmem: 256 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))))
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, KEY_LENGTH, DEFAULT_COST)
  return ['scrypt', DEFAULT_COST.N, DEFAULT_COST.r, DEFAULT_COST.p, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, hashB64] = stored.split('$')
  if (scheme !== 'scrypt' || saltB64 === undefined || hashB64 === undefined) return false
  const expected = Buffer.from(hashB64, 'base64')
  const key = await scryptAsync(password, Buffer.from(saltB64, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) })
  return timingSafeEqual(key, expected)
}

/**
 * A hash no password matches, computed once: a login for an unknown user
 * still pays one scrypt, so response time does not tell which usernames exist.
 */
let decoyHash: Promise<string> | undefined
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('base64'))
  return decoyHash
}

/** A random password for generated accounts: 24 base64url characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url')
}

export const MIN_PASSWORD_LENGTH = 12
