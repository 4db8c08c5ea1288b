import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The installation's root folder (the one holding package.json), found from
 * this file whether it runs as TypeScript source or compiled under dist/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith(`${join('/', 'dist')}`)) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the CloudOS Lite package root')
    dir = parent
  }
  return dir
}

/** The `cloudos` launcher of this installation. */
export function cloudosBin(): string {
  return join(packageRoot(), 'bin', 'cloudos.js')
}
