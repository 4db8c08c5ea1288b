import { mkdirSync, statfsSync } from 'node:fs'
import { CloudosError } from '../../shared/errors.js'

/**
 * Refuses (OTA_ERR_DISK_SPACE) before anything is written when `bytes` more
 * would exceed the staging budget or eat into the free space kept in reserve.
 */
export function ensureDiskSpace(dir: string, bytes: number, limits: { budgetBytes: number; minFreeBytes: number }, what: string): void {
  if (bytes > limits.budgetBytes) {
    throw new CloudosError('OTA_ERR_DISK_SPACE', `${what} needs ${bytes} bytes, more than the staging budget of ${limits.budgetBytes} (ota.stagingBudgetBytes)`, {
      bytes,
      budgetBytes: limits.budgetBytes,
    })
  }
  mkdirSync(dir, { recursive: true })
  const disk = statfsSync(dir)
  const free = disk.bavail * disk.bsize
  if (free - bytes < limits.minFreeBytes) {
    throw new CloudosError('OTA_ERR_DISK_SPACE', `${what} needs ${bytes} bytes; ${free} are free in ${dir} and ${limits.minFreeBytes} must stay free (ota.minFreeDiskBytes)`, {
      bytes,
      freeBytes: free,
    })
  }
}
