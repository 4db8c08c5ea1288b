import { randomUUID } from 'node:crypto'
import { decodePublicKey } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import type { DeviceFacts } from '../../shared/protocol/enrolment.js'
import { formatEnrolmentToken, parseEnrolmentToken } from '../../shared/protocol/enrolment-token.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuthFailureRecorder } from '../audit/auth-failure-summary.js'
import type { HubConfig } from '../hub-config.js'
import { hashBearerToken, newBearerToken } from '../http/bearer-token.js'
import type { DeviceId, DeviceRepository, NewDevice, Tier } from './device-repository.js'
import type { EnrolmentTokenRecord, EnrolmentTokenRepository } from './enrolment-token-repository.js'
import { unmetRequirements } from './requirements.js'

export interface EnrolmentServiceOptions {
  tokens: EnrolmentTokenRepository
  devices: DeviceRepository
  audit: AuditLog
  /** Where refused enrolment tokens are counted (summarised per source and window in the audit log, not one row each). */
  failures: AuthFailureRecorder
  /** The hub config's `enrolment` section: default token lifetime and device minimums. */
  enrolment: HubConfig['enrolment']
  /** Milliseconds since the epoch. */
  clock: () => number
  /** The hub CA's pin (`sha256:<hex>`): issued tokens carry it (shared/protocol/enrolment-token.ts). */
  caPin?: string | undefined
}

export interface TokenRequest {
  group: string
  tier: Tier
  /** Lifetime; enrolment.tokenTtlSeconds by default. */
  ttlSeconds?: number
  /** Who asks (`user:<name>`, or `demo`): recorded as creator and in the audit entry. */
  actor: string
}

export interface EnrolmentRequest {
  enrolmentToken: string
  /** The device's Ed25519 public key: 32 raw bytes, base64. */
  publicKey: string
  name?: string
  facts: DeviceFacts
  /** The caller's address, kept in the audit entry of a refusal. */
  ip: string
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Enrolment (UC-001): issuing single-use tokens, and enrolling a device with
 * one. Used by the routes (POST /v1/enrolment-tokens, POST /v1/devices/enroll)
 * and by `cloudos demo`, so a token has the same audit entry however it was made.
 */
export class EnrolmentService {
  constructor(private readonly options: EnrolmentServiceOptions) {}

  /**
   * Creates a token and its `enrolment_token.create` audit entry; the token
   * value (`<secret>.<CA pin hex>`) is returned once, only the secret's hash is stored.
   */
  async issueToken(request: TokenRequest): Promise<{ record: EnrolmentTokenRecord; token: string; caPin: string | undefined }> {
    const { tokens, audit, clock, enrolment, caPin } = this.options
    const now = clock()
    const secret = newBearerToken()
    const record: EnrolmentTokenRecord = {
      id: `et-${randomUUID()}`,
      tokenHash: hashBearerToken(secret),
      group: request.group,
      tier: request.tier,
      createdBy: request.actor,
      createdAt: now,
      expiresAt: now + (request.ttlSeconds ?? enrolment.tokenTtlSeconds) * 1000,
      usedAt: null,
      deviceId: null,
    }
    await tokens.create(record)
    await audit.record('enrolment_token.create', request.actor, record.id, { group: record.group, tier: record.tier, expiresAt: iso(record.expiresAt) })
    return { record, token: formatEnrolmentToken(secret, caPin), caPin }
  }

  /**
   * Enrols a device: the token must be this hub's, unused and unexpired, and
   * the device must meet the minimums. A refused token (anyone can send one)
   * is counted in `failures`; a device below the minimums (it held a valid
   * token) is audited (`device.enrol_refused`); both throw coded errors.
   */
  async enrol(request: EnrolmentRequest): Promise<NewDevice> {
    const { tokens, devices, audit, failures, clock, enrolment } = this.options
    const { enrolmentToken, publicKey, facts } = request
    const now = clock()
    // Devices send the secret alone; a whole token (secret and pin) pasted into a request works too.
    const secret = parseEnrolmentToken(enrolmentToken)?.secret ?? enrolmentToken
    const token = await tokens.findByHash(hashBearerToken(secret))
    const refuseToken = (error: CloudosError): never => {
      failures.record({ kind: 'enrolment', source: request.ip, code: error.code, claimedId: token?.id })
      throw error
    }
    const refuse = async (error: CloudosError, details: Record<string, unknown> = {}): Promise<never> => {
      await audit.record('device.enrol_refused', 'anonymous', token?.id ?? '', { code: error.code, ip: request.ip, ...details })
      throw error
    }
    if (token === undefined) return refuseToken(new CloudosError('HUB_ERR_ENROLMENT_TOKEN_INVALID', 'the enrolment token is not one this hub issued'))
    if (token.usedAt !== null) return refuseToken(new CloudosError('HUB_ERR_ENROLMENT_TOKEN_USED', `enrolment token ${token.id} was already used (by device ${token.deviceId})`))
    if (token.expiresAt <= now) return refuseToken(new CloudosError('HUB_ERR_ENROLMENT_TOKEN_EXPIRED', `enrolment token ${token.id} expired at ${new Date(token.expiresAt).toISOString()}`))
    try {
      decodePublicKey(publicKey)
    } catch (err) {
      throw new CloudosError('HUB_ERR_INVALID_REQUEST', `body/publicKey: ${(err as Error).message}`)
    }
    const unmet = unmetRequirements(facts, enrolment.minimums)
    if (unmet.length > 0) {
      // The token is not consumed: the operator can fix the device and retry.
      return refuse(new CloudosError('HUB_ERR_DEVICE_REQUIREMENTS_UNMET', `the device does not meet the hub's minimums: ${unmet.map((u) => u.message).join('; ')}`, { unmet }), {
        unmet: unmet.map((u) => u.requirement),
      })
    }
    const device: NewDevice = {
      id: `dev-${randomUUID()}` as DeviceId,
      name: request.name ?? `${token.group}-${facts.arch}`,
      group: token.group,
      tier: token.tier,
      publicKey,
      facts,
      status: 'active',
      enrolmentTokenId: token.id,
      enrolledAt: now,
      lastSeenAt: now,
      revokedAt: null,
    }
    if ((await devices.enrol(device)) === 'token_used') {
      return refuseToken(new CloudosError('HUB_ERR_ENROLMENT_TOKEN_USED', `enrolment token ${token.id} was already used`))
    }
    await audit.record('device.enrol', `device:${device.id}`, device.id, { tokenId: token.id, group: device.group, tier: device.tier, facts })
    return device
  }
}
