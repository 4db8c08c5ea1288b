import { CloudosError, isCloudosError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log/logger.js'
import { saveDeviceIdentity, type DeviceIdentity } from './device-identity.js'
import { discoverPinnedCa, proveHubIdentity } from './hub-ca-discovery.js'

export interface HubAddressOptions {
  dataDir: string
  /** The address this start was given (--hub / hub.url). */
  hubUrl: string
  timeoutMs: number
  log: Logger
  insecureHttp: boolean
  onIdentityRefused?: (error: CloudosError) => void
}

/**
 * An enrolled device given a hub address: the stored one is used as it is; a
 * different one is followed (and stored) only once it proves the pinned
 * identity, i.e. its certificate chains to the CA pinned at enrolment.
 * Otherwise the device keeps its pinned hub and says so: an attacker who can
 * change a start flag or a DNS answer gets a refusal, not the device's data.
 */
export async function followHubAddress(stored: DeviceIdentity, options: HubAddressOptions): Promise<DeviceIdentity> {
  const { hubUrl, log } = options
  const tls = new URL(hubUrl).protocol === 'https:'
  let identity = stored
  if (tls && identity.hubCaPem === undefined) {
    // Enrolled over plain HTTP with a pinned token: the CA is found by its pin the first time TLS is used.
    if (identity.hubCaPin === undefined) {
      log.error(`EDGE_ERR_HUB_IDENTITY_MISMATCH: this device enrolled without a hub CA pin (plain HTTP), so no https:// hub can prove to it who it is; enrol it again with a token from the hub`, { hubUrl })
      return identity
    }
    try {
      identity = { ...identity, hubCaPem: await discoverPinnedCa(hubUrl, identity.hubCaPin, options.timeoutMs) }
      await proveHubIdentity(hubUrl, identity.hubCaPem as string, options.timeoutMs)
    } catch (err) {
      refused(err, options, stored, `the hub at ${hubUrl} did not prove the CA pin ${identity.hubCaPin}`)
      return stored
    }
    if (identity.hubUrl === hubUrl) {
      saveDeviceIdentity(options.dataDir, identity)
      log.info(`hub ${hubUrl} proved the pinned CA ${identity.hubCaPin}: stored it; every connection is checked against it from now on`)
      return identity
    }
  }
  if (identity.hubUrl === hubUrl) return identity
  if (!tls) {
    if (identity.hubCaPem !== undefined) {
      refused(new CloudosError('EDGE_ERR_HUB_IDENTITY_MISMATCH', `${hubUrl} is plain HTTP and cannot prove the pinned hub identity`, { hubUrl }), options, stored, `the new hub address ${hubUrl}`)
      return stored
    }
    // Neither address was ever authenticated (--insecure-http on both): nothing to prove with.
    log.warn(`the hub address changed from ${identity.hubUrl} to ${hubUrl} over plain HTTP (--insecure-http): following it unauthenticated`)
  } else {
    try {
      await proveHubIdentity(hubUrl, identity.hubCaPem as string, options.timeoutMs)
    } catch (err) {
      refused(err, options, stored, `the new hub address ${hubUrl}`)
      return stored
    }
    log.info(`the hub address changed from ${identity.hubUrl} to ${hubUrl}; the new endpoint proved the pinned identity (${identity.hubCaPin ?? 'stored CA'}): using and storing it`)
  }
  const moved = { ...identity, hubUrl }
  saveDeviceIdentity(options.dataDir, moved)
  return moved
}

/** Logs (and counts, for an identity failure) a refused address; the device keeps the one it had. */
function refused(err: unknown, options: HubAddressOptions, kept: DeviceIdentity, what: string): void {
  if (isCloudosError(err) && err.code === 'EDGE_ERR_HUB_IDENTITY_MISMATCH') {
    options.onIdentityRefused?.(err)
    options.log.error(`EDGE_ERR_HUB_IDENTITY_MISMATCH: ${what} was refused (${err.message}); keeping the pinned hub at ${kept.hubUrl}`, { refusedUrl: options.hubUrl })
    return
  }
  options.log.warn(`${what} could not be checked (${(err as Error).message}); keeping the pinned hub at ${kept.hubUrl}, the next start tries again`, { refusedUrl: options.hubUrl })
}
