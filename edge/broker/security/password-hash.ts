import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Password hashes for MQTT clients: scrypt (RFC 7914) with a random 16-byte
 * salt, the parameters stored with the hash so they can be raised later
 * without invalidating existing entries:
 *
 *     $scrypt$N=16384,r=8,p=1$<salt, base64>$<64-byte key, base64>
 *
 * N=2^14, r=8, p=1 (16 MiB, about 40 ms here) is Node's default and the
 * classic interactive-login setting from the scrypt paper; a verification runs
 * on libuv's thread pool, never on the event loop.
 */
export interface ScryptParameters {
  N: number
  r: number
  p: number
}

export const DEFAULT_SCRYPT: ScryptParameters = { N: 16_384, r: 8, p: 1 }
const KEY_BYTES = 64
const SALT_BYTES = 16
/** Parameters read from a file are bounded before use: a hand-edited N=2^30 must not take the edge's memory. */
const MAX_MEMORY_BYTES = 64 * 1024 * 1024
const HASH_PATTERN = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/

export interface ParsedHash {
  params: ScryptParameters
  salt: Buffer
  key: Buffer
}

export async function hashPassword(password: string, params: ScryptParameters = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, params, KEY_BYTES)
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Parses a stored hash; undefined when it is not one this module writes or its parameters are out of bounds. */
export function parsePasswordHash(encoded: string): ParsedHash | undefined {
  const m = HASH_PATTERN.exec(encoded)
  if (m === null) return undefined
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
  const powerOfTwo = params.N > 1 && (params.N & (params.N - 1)) === 0
  if (!powerOfTwo || params.r < 1 || params.p < 1 || params.p > 16 || 128 * params.N * params.r > MAX_MEMORY_BYTES) return undefined
  const salt = Buffer.from(m[4] as string, 'base64')
  const key = Buffer.from(m[5] as string, 'base64')
  if (salt.length < 8 || key.length < 16 || key.length > 128) return undefined
  return { params, salt, key }
}

/** True when `password` derives the stored key; compared in constant time (crypto.timingSafeEqual). */
export async function verifyPassword(password: string, hash: ParsedHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.params, hash.key.length)
  return timingSafeEqual(key, hash.key)
}

function derive(password: string, salt: Buffer, params: ScryptParameters, length: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: MAX_MEMORY_BYTES + 1024 * 1024 }
  return new Promise((resolve, reject) => scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))))
}
