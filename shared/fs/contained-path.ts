import { isAbsolute, relative, resolve, sep } from 'node:path'
import { CloudosError } from '../errors.js'

/**
 * Joins `segments` (from remote data: a hub's answer, a bundle's manifest)
 * under `root` and proves the result stays inside it: resolved, then checked
 * with `path.relative`, so `..`, an absolute segment, a NUL byte or an empty
 * result are refused with EDGE_ERR_PATH_OUTSIDE_ROOT before any file system
 * call. Every path the edge builds from remote data goes through here.
 *
 * A segment must also be non-empty and free of `/`, `\` and NUL: one segment
 * is one name, so a caller cannot be handed a path where it expects a name.
 */
export function containedPath(root: string, ...segments: string[]): string {
  const refuse = (why: string) =>
    new CloudosError('EDGE_ERR_PATH_OUTSIDE_ROOT', `refused a path built from remote data under ${root}: ${why}`, { root, segments: segments.map((s) => s.slice(0, 80)) })
  for (const segment of segments) {
    if (typeof segment !== 'string' || segment.length === 0 || segment.length > 255) throw refuse('a name is empty or longer than 255 characters')
    if (segment.includes('\0') || segment.includes('/') || segment.includes('\\')) throw refuse(`${JSON.stringify(segment.slice(0, 80))} is not a single file name`)
    if (segment === '.' || segment === '..') throw refuse(`${JSON.stringify(segment)} names a directory, not a file`)
  }
  const base = resolve(root)
  const full = resolve(base, ...segments)
  const rel = relative(base, full)
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw refuse(`${JSON.stringify(full)} is not inside it`)
  return full
}
