/**
 * The enrolment token an operator copies from the hub to a device: one
 * string that carries both the single-use secret and the pin of the hub's
 * TLS certificate authority, as `kubeadm join` carries a token and
 * `--discovery-token-ca-cert-hash` (docs/hub.md, "Enrolment tokens"):
 *
 *     <secret>.<pin>
 *
 * - `<secret>`: 43 characters of base64url (32 random bytes). The hub keeps
 *   only its SHA-256; it is what the device sends in POST /v1/devices/enroll.
 * - `<pin>`: 64 lowercase hex characters, the SHA-256 of the hub CA's
 *   SubjectPublicKeyInfo (shared/pki `caPin` without its `sha256:` prefix).
 *   It is not secret; it lets the device check, before it sends anything,
 *   that the endpoint it reached holds a certificate issued by that CA.
 *
 * base64url has no `.`, so the split is unambiguous. A bare `<secret>` (no
 * pin) is what a hub without a CA issues; a device accepts it only for a
 * plain-HTTP hub it was explicitly allowed to use (`--insecure-http`).
 */

const SECRET_PATTERN = /^[A-Za-z0-9_-]{16,128}$/
const PIN_HEX_PATTERN = /^[0-9a-f]{64}$/

export interface EnrolmentToken {
  /** What the hub checks (sent in the enrolment body). */
  secret: string
  /** `sha256:<hex>` (shared/pki CA_PIN_PATTERN), when the token carries one. */
  caPin: string | undefined
}

/** Joins a secret and a CA pin (`sha256:<hex>`) into the one string an operator copies. */
export function formatEnrolmentToken(secret: string, caPin: string | undefined): string {
  if (caPin === undefined) return secret
  const hex = caPin.replace(/^sha256:/, '')
  if (!PIN_HEX_PATTERN.test(hex)) throw new RangeError(`not a CA pin: ${caPin}`)
  return `${secret}.${hex}`
}

/** Splits a token; undefined when it is not of the documented form (say which part in the caller's error). */
export function parseEnrolmentToken(token: string): EnrolmentToken | undefined {
  const trimmed = token.trim()
  const dot = trimmed.indexOf('.')
  const secret = dot < 0 ? trimmed : trimmed.slice(0, dot)
  if (!SECRET_PATTERN.test(secret)) return undefined
  if (dot < 0) return { secret, caPin: undefined }
  const hex = trimmed.slice(dot + 1).toLowerCase()
  if (!PIN_HEX_PATTERN.test(hex)) return undefined
  return { secret, caPin: `sha256:${hex}` }
}
