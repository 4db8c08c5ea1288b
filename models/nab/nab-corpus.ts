import { readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { NabWindow } from './anomaly-windows.js'
import { parseCombinedWindows } from './combined-windows.js'
import { NabError } from './nab-error.js'
import { NAB_DEFAULT_PROFILES, parseProfiles, type NabProfiles } from './profiles.js'

/** One data file of a NAB corpus. */
export interface NabCorpusEntry {
  /** `<category>/<file>.csv`, the key in labels/combined_windows.json. */
  file: string
  /** Absolute path of the data CSV. */
  path: string
  windows: NabWindow[]
}

export interface NabCorpus {
  dir: string
  entries: NabCorpusEntry[]
  profiles: NabProfiles
  /** Where the profiles came from: the corpus' profiles.json, or NAB's defaults when it has none. */
  profilesFrom: string
}

export const NAB_LABELS_FILE = join('labels', 'combined_windows.json')

/**
 * Opens a folder in NAB's layout: `data/<category>/<file>.csv`,
 * `labels/combined_windows.json` and `profiles.json` (NAB's three profiles
 * are used when it is absent). Every data file needs a labels entry (an empty
 * list when it has no anomaly); labels of files that are not there are
 * ignored, so a subset of NAB can be evaluated with NAB's labels file.
 * Entries are sorted by name, so reports and results are in a stable order.
 */
export async function openNabCorpus(dir: string): Promise<NabCorpus> {
  const root = resolve(dir)
  const dataDir = join(root, 'data')
  const labelsPath = join(root, NAB_LABELS_FILE)
  if (!(await isDirectory(dataDir))) {
    throw new NabError('NAB_ERR_LAYOUT', `${root} has no data/ folder (expected data/<category>/<file>.csv)`, { dir: root })
  }
  let labelsText: string
  try {
    labelsText = await readFile(labelsPath, 'utf8')
  } catch (err) {
    throw new NabError('NAB_ERR_LAYOUT', `cannot read ${labelsPath}: ${(err as Error).message}`, { dir: root, file: labelsPath })
  }
  const labels = parseCombinedWindows(labelsText, labelsPath)
  const entries: NabCorpusEntry[] = []
  for (const category of (await readdir(dataDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const files = (await readdir(join(dataDir, category), { withFileTypes: true })).filter((d) => d.isFile() && d.name.endsWith('.csv')).map((d) => d.name).sort()
    for (const name of files) {
      const file = `${category}/${name}`
      const windows = labels.get(file)
      if (windows === undefined) {
        throw new NabError('NAB_ERR_LABELS', `${labelsPath} has no entry for data/${file} (use [] for a file without anomalies)`, { file })
      }
      entries.push({ file, path: join(dataDir, category, name), windows })
    }
  }
  if (entries.length === 0) {
    throw new NabError('NAB_ERR_LAYOUT', `${dataDir} holds no data/<category>/<file>.csv`, { dir: root })
  }
  const profilesPath = join(root, 'profiles.json')
  let profiles: NabProfiles = NAB_DEFAULT_PROFILES
  let profilesFrom = 'NAB defaults (no profiles.json)'
  let profilesText: string | undefined
  try {
    profilesText = await readFile(profilesPath, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new NabError('NAB_ERR_PROFILES', `cannot read ${profilesPath}: ${(err as Error).message}`, { file: profilesPath })
    }
  }
  if (profilesText !== undefined) {
    profiles = parseProfiles(profilesText, profilesPath)
    profilesFrom = profilesPath
  }
  return { dir: root, entries, profiles, profilesFrom }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}
