import { CloudosError } from '../../shared/errors.js'
import { HUB_PATH_SOURCE, isHubIdentifier, VERSION_SOURCE } from '../../shared/protocol/identifiers.js'
import type { OtaTarget } from '../../shared/protocol/ota.js'

type Release = NonNullable<OtaTarget['release']>

const HUB_PATH = new RegExp(HUB_PATH_SOURCE)
const VERSION = new RegExp(VERSION_SOURCE)

/**
 * The identifiers of an OTA target, checked again where the updater uses them
 * (file names in the staging area, keys of updater.json, the download URL).
 * The hub client already refused an answer breaking shared/protocol/ota.ts;
 * this second check keeps the file system safe even if a caller skipped it
 * (defence in depth). Throws EDGE_ERR_HUB_ID_INVALID naming the field.
 */
export function checkHubRelease(release: Release): void {
  const refuse = (field: string, value: unknown) =>
    new CloudosError('EDGE_ERR_HUB_ID_INVALID', `the hub's OTA target has an unsafe ${field} ${JSON.stringify(String(value).slice(0, 80))}: not used`, { field })
  for (const field of ['releaseId', 'rolloutId', 'name'] as const) if (!isHubIdentifier(release[field])) throw refuse(field, release[field])
  if (typeof release.version !== 'string' || release.version.length > 64 || !VERSION.test(release.version)) throw refuse('version', release.version)
  if (typeof release.downloadPath !== 'string' || release.downloadPath.length > 1024 || !HUB_PATH.test(release.downloadPath)) throw refuse('downloadPath', release.downloadPath)
}
