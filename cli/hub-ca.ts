import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CloudosError } from '../shared/errors.js'

/** The flags every admin command that talks to a hub takes to trust its CA. */
export interface HubCaFlags {
  /** The hub CA certificate (PEM): `tls/hub-ca.pem` in the hub's data dir. */
  ca?: string
  /** The hub's data dir (on the hub machine): its CA is read from there. */
  hubDataDir?: string
}

/** Where the hub keeps its CA inside its data dir (cloud/bootstrap/hub-tls-files.ts). */
const HUB_CA_IN_DATA_DIR = join('tls', 'hub-ca.pem')

export const CA_FLAG_HELP = 'the hub CA certificate (PEM) to trust instead of the system roots, e.g. DATA_DIR/tls/hub-ca.pem (default $CLOUDOS_HUB_CA)'
export const HUB_DATA_DIR_FLAG_HELP = 'trust the CA in this hub data dir (on the hub machine)'

/**
 * The CA an admin command trusts for the hub: `--ca FILE`, `--hub-data-dir
 * DIR` or $CLOUDOS_HUB_CA; undefined means the system roots (a hub serving a
 * certificate from a public or company CA the machine already trusts).
 */
export function readHubCa(flags: HubCaFlags): string | undefined {
  const file = flags.ca ?? (flags.hubDataDir === undefined ? process.env.CLOUDOS_HUB_CA : join(flags.hubDataDir, HUB_CA_IN_DATA_DIR))
  if (file === undefined || file === '') return undefined
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    throw new CloudosError('CLI_ERR_INVALID_FLAG', `cannot read the hub CA ${file}: ${(err as Error).message}`)
  }
}

/** A fetch for admin calls: trusting only `caPem` when given (node:https, as the edge does), the system roots otherwise. */
export async function adminFetch(caPem: string | undefined): Promise<typeof fetch> {
  if (caPem === undefined) return globalThis.fetch
  const { createHubTransport } = await import('../edge/hub-link/hub-transport.js')
  // Plain http:// stays possible for an admin on the hub's own loopback; the edge's refusal of it is a device rule.
  return createHubTransport({ hubCaPem: caPem, insecureHttp: true }).fetch
}
