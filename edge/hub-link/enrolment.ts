import { hostname } from 'node:os'
import { mkdirSync } from 'node:fs'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import { enrolExchange, type EnrolAnswer } from '../../shared/protocol/enrolment.js'
import type { Logger } from '../../shared/log/logger.js'
import { hasDeviceIdentity, loadDeviceIdentity, saveDeviceIdentity, type DeviceIdentity } from './device-identity.js'
import { collectHardwareFacts, type HardwareFacts } from './hardware-facts.js'
import { HubClient, HubRequestError } from './hub-client.js'

export interface EnsureEnrolledOptions {
  dataDir: string
  /** The hub to enrol with (or, once enrolled, the hub's current address). */
  hubUrl: string
  /** Needed on the first start only. */
  enrolmentToken?: string
  deviceName?: string
  timeoutMs: number
  log: Logger
  /** Injected for tests. */
  facts?: (dataDir: string) => HardwareFacts
  fetch?: typeof fetch
}

/**
 * The device identity: the stored one if this data dir has enrolled before
 * (the token is then not needed, and ignored if given), otherwise a new
 * Ed25519 key pair enrolled with the hub through `POST /v1/devices/enroll`.
 */
export async function ensureEnrolled(options: EnsureEnrolledOptions): Promise<DeviceIdentity> {
  const { dataDir, log } = options
  if (hasDeviceIdentity(dataDir)) {
    const identity = loadDeviceIdentity(dataDir)
    if (options.enrolmentToken !== undefined) {
      log.info(`already enrolled as ${identity.deviceId}: the enrolment token given is not needed and was ignored`)
    }
    if (identity.hubUrl === options.hubUrl) return identity
    log.warn(`the hub address changed from ${identity.hubUrl} to ${options.hubUrl}; using (and storing) the new address with the same identity`)
    const moved = { ...identity, hubUrl: options.hubUrl }
    saveDeviceIdentity(dataDir, moved)
    return moved
  }
  if (options.enrolmentToken === undefined) {
    throw new CloudosError('EDGE_ERR_HUB_NOT_ENROLLED', `${dataDir} has no device identity for hub ${options.hubUrl}: pass --enroll-token to enrol this device`, {
      dataDir,
      hubUrl: options.hubUrl,
    })
  }
  mkdirSync(dataDir, { recursive: true })
  const facts = (options.facts ?? collectHardwareFacts)(dataDir)
  // The private key never leaves the device; the hub gets the public half.
  const { publicKey, privateKey } = generateDeviceKeyPair()
  const encodedPublicKey = encodePublicKey(publicKey)
  const client = new HubClient({ url: options.hubUrl, timeoutMs: options.timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) })
  let answer: EnrolAnswer
  try {
    answer = await client.exchange(enrolExchange, {
      enrolmentToken: options.enrolmentToken,
      publicKey: encodedPublicKey,
      name: (options.deviceName ?? hostname()).slice(0, 128) || 'edge',
      facts,
    })
  } catch (err) {
    throw enrolmentError(err, options.hubUrl)
  }
  const identity: DeviceIdentity = {
    deviceId: answer.deviceId,
    hubUrl: options.hubUrl,
    hubId: answer.hubId,
    group: answer.group,
    tier: answer.tier,
    publicKey: encodedPublicKey,
    hubPublicKeyPem: answer.hubPublicKeyPem,
    enrolledAt: new Date().toISOString(),
    privateKey,
  }
  saveDeviceIdentity(dataDir, identity)
  log.info(`enrolled with hub ${answer.hubId} at ${options.hubUrl} as ${answer.deviceId} (group ${answer.group}, tier ${answer.tier})`)
  return identity
}

const TOKEN_REFUSALS = new Set(['HUB_ERR_ENROLMENT_TOKEN_INVALID', 'HUB_ERR_ENROLMENT_TOKEN_USED', 'HUB_ERR_ENROLMENT_TOKEN_EXPIRED'])

/** Maps a failed enrolment request to an EDGE_ERR_HUB_* error that carries the hub's own code and words. */
function enrolmentError(err: unknown, hubUrl: string): Error {
  if (!(err instanceof HubRequestError)) return err as Error
  const details = { hubUrl, hubStatus: err.status, hubCode: err.hubCode }
  const hubSaid = () => {
    const body = err.body as { message?: unknown } | undefined
    return `${err.hubCode ?? `HTTP ${err.status}`}: ${typeof body?.message === 'string' ? body.message : err.message}`
  }
  if (err.kind === 'unreachable') {
    return new CloudosError('EDGE_ERR_HUB_UNREACHABLE', `cannot enrol: the hub at ${hubUrl} is unreachable (${err.message})`, { hubUrl })
  }
  if (err.hubCode !== undefined && TOKEN_REFUSALS.has(err.hubCode)) {
    return new CloudosError('EDGE_ERR_HUB_ENROLMENT_REFUSED', `the hub refused the enrolment token: ${hubSaid()}`, details)
  }
  if (err.hubCode === 'HUB_ERR_DEVICE_REQUIREMENTS_UNMET') {
    const unmet = (err.body as { details?: { unmet?: unknown } } | undefined)?.details?.unmet
    return new CloudosError('EDGE_ERR_HUB_REQUIREMENTS_UNMET', `the hub refused to enrol this device: ${hubSaid()}`, { ...details, unmet })
  }
  return new CloudosError('EDGE_ERR_HUB_REQUEST_FAILED', `enrolment failed: ${hubSaid()}`, details)
}
