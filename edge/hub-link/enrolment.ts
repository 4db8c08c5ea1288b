import { hostname } from 'node:os'
import { mkdirSync } from 'node:fs'
import { encodePublicKey, generateDeviceKeyPair } from '../../shared/device-auth/index.js'
import { CloudosError } from '../../shared/errors.js'
import { enrolExchange, type EnrolAnswer } from '../../shared/protocol/enrolment.js'
import { parseEnrolmentToken } from '../../shared/protocol/enrolment-token.js'
import type { Logger } from '../../shared/log/logger.js'
import { hasDeviceIdentity, loadDeviceIdentity, saveDeviceIdentity, type DeviceIdentity } from './device-identity.js'
import { collectHardwareFacts, type HardwareFacts } from './hardware-facts.js'
import { followHubAddress } from './hub-address-change.js'
import { discoverPinnedCa } from './hub-ca-discovery.js'
import { HubClient, HubRequestError } from './hub-client.js'
import { checkHubUrl, createHubTransport } from './hub-transport.js'

export interface EnsureEnrolledOptions {
  dataDir: string
  /** The hub to enrol with (or, once enrolled, the hub's current address). */
  hubUrl: string
  /** Needed on the first start only. */
  enrolmentToken?: string
  deviceName?: string
  timeoutMs: number
  log: Logger
  /** Allow an http:// hub URL (`--insecure-http`): the hub's identity is then not checked. */
  insecureHttp?: boolean
  /** Counts endpoints that failed to prove the pinned identity. */
  onIdentityRefused?: (error: CloudosError) => void
  /** Injected for tests. */
  facts?: (dataDir: string) => HardwareFacts
  /** Wraps the pinned transport (tests record what crosses the wire); gets the transport that checks the pin. */
  wrapFetch?: (pinned: typeof fetch) => typeof fetch
}

/**
 * The device identity: the stored one if this data dir has enrolled before
 * (the token is then not needed, and ignored if given), otherwise a new
 * Ed25519 key pair enrolled with the hub through `POST /v1/devices/enroll`.
 *
 * Enrolment pins the hub: the token carries the pin of the hub's CA; the
 * device finds that CA in the chain the endpoint presents, enrols over a
 * connection verified against it alone, and stores it (hub-ca.pem, 0600).
 * A different hub address later is followed only once the new endpoint
 * proves the same identity (hub-address-change.ts).
 */
export async function ensureEnrolled(options: EnsureEnrolledOptions): Promise<DeviceIdentity> {
  const { dataDir, log } = options
  const insecureHttp = options.insecureHttp ?? false
  checkHubUrl(options.hubUrl, insecureHttp)
  if (hasDeviceIdentity(dataDir)) {
    const identity = loadDeviceIdentity(dataDir)
    if (options.enrolmentToken !== undefined) {
      log.info(`already enrolled as ${identity.deviceId}: the enrolment token given is not needed and was ignored`)
    }
    return followHubAddress(identity, { ...options, insecureHttp })
  }
  if (options.enrolmentToken === undefined) {
    throw new CloudosError('EDGE_ERR_HUB_NOT_ENROLLED', `${dataDir} has no device identity for hub ${options.hubUrl}: pass --enroll-token to enrol this device`, {
      dataDir,
      hubUrl: options.hubUrl,
    })
  }
  const token = parseEnrolmentToken(options.enrolmentToken)
  if (token === undefined) {
    throw new CloudosError('EDGE_ERR_HUB_TOKEN_MALFORMED', 'the enrolment token is not of the form <secret>.<CA pin>: copy the whole token the hub printed', { dataDir })
  }
  const tls = new URL(options.hubUrl).protocol === 'https:'
  if (tls && token.caPin === undefined) {
    throw new CloudosError('EDGE_ERR_HUB_TOKEN_MALFORMED', `the enrolment token carries no CA pin, so the hub at ${options.hubUrl} cannot prove who it is: use a token issued by a hub with TLS (<secret>.<CA pin>)`, { dataDir })
  }
  let hubCaPem: string | undefined
  if (tls) {
    try {
      hubCaPem = await discoverPinnedCa(options.hubUrl, token.caPin as string, options.timeoutMs)
    } catch (err) {
      if (err instanceof CloudosError && err.code === 'EDGE_ERR_HUB_IDENTITY_MISMATCH') options.onIdentityRefused?.(err)
      throw err
    }
  } else {
    log.warn(`enrolling over plain HTTP (--insecure-http): the hub at ${options.hubUrl} is not authenticated`)
  }
  mkdirSync(dataDir, { recursive: true })
  const facts = (options.facts ?? collectHardwareFacts)(dataDir)
  // The private key never leaves the device; the hub gets the public half.
  const { publicKey, privateKey } = generateDeviceKeyPair()
  const encodedPublicKey = encodePublicKey(publicKey)
  const { client, close } = pinnedClient(options, hubCaPem, insecureHttp)
  let answer: EnrolAnswer
  try {
    answer = await client.exchange(enrolExchange, {
      enrolmentToken: token.secret,
      publicKey: encodedPublicKey,
      name: (options.deviceName ?? hostname()).slice(0, 128) || 'edge',
      facts,
    })
  } catch (err) {
    throw enrolmentError(err, options.hubUrl)
  } finally {
    close()
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
    ...(token.caPin === undefined ? {} : { hubCaPin: token.caPin }),
    ...(hubCaPem === undefined ? {} : { hubCaPem }),
    privateKey,
  }
  saveDeviceIdentity(dataDir, identity)
  log.info(`enrolled with hub ${answer.hubId} at ${options.hubUrl} as ${answer.deviceId} (group ${answer.group}, tier ${answer.tier})`)
  return identity
}

/** The enrolment client: verified against the CA just found by its pin, and nothing else. */
function pinnedClient(options: EnsureEnrolledOptions, hubCaPem: string | undefined, insecureHttp: boolean): { client: HubClient; close(): void } {
  const base = { url: options.hubUrl, timeoutMs: options.timeoutMs, hubCaPem, insecureHttp, ...(options.onIdentityRefused ? { onIdentityRefused: options.onIdentityRefused } : {}) }
  if (options.wrapFetch === undefined) {
    const client = new HubClient(base)
    return { client, close: () => client.close() }
  }
  const transport = createHubTransport(base)
  const client = new HubClient({ ...base, fetch: options.wrapFetch(transport.fetch) })
  return { client, close: () => (client.close(), transport.close()) }
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
  if (err.kind === 'identity') {
    return new CloudosError('EDGE_ERR_HUB_IDENTITY_MISMATCH', `cannot enrol: ${err.message}`, { hubUrl })
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
