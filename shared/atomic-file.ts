import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs'

/**
 * Writes a file so that it is either absent or complete: write a temp file
 * created with its final mode (a private key is never readable by others, not
 * even for a moment), fsync, then rename over the target.
 */
export function writeFileAtomic(path: string, content: string, mode: number): void {
  const temp = `${path}.tmp-${process.pid}`
  const fd = openSync(temp, 'wx', mode)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(temp, path)
}
