import { unwatchFile, watchFile, type Stats } from 'node:fs'

/**
 * Calls `onChange` when the file at `path` is created, written, replaced
 * (an atomic write renames a new inode over it) or removed. Polls its stat
 * (fs.watchFile) rather than using inotify, which loses a file replaced by
 * rename; the poll does not keep the process alive. Returns the stop function.
 */
export function watchFileChanges(path: string, intervalMs: number, onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) onChange()
  }
  watchFile(path, { interval: intervalMs, persistent: false }, listener)
  return () => unwatchFile(path, listener)
}
