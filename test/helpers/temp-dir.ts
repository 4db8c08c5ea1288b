import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

export interface TempDir {
  readonly path: string
  /** Removes the directory and everything in it (idempotent). */
  remove(): void
}

/** A fresh directory under the OS temp dir; the caller removes it (use in beforeAll/afterAll). */
export function makeTempDir(prefix = 'cloudos-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true })
    },
  }
}

/** A fresh directory removed when the current test finishes (call inside a test). */
export function useTempDir(prefix = 'cloudos-test-'): string {
  const dir = makeTempDir(prefix)
  onTestFinished(() => dir.remove())
  return dir.path
}
