import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadEdgeConfig } from '../../edge/config/load.js'
import { EdgeRuntime } from '../../edge/runtime.js'
import { EDGE_DB_FILE, openEdgeDatabase } from '../../edge/store/database.js'
import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js'

describe('edge runtime: a failure while the services are assembled', () => {
  let dir: TempDir | undefined
  afterEach(() => dir?.remove())

  it('rejects start and leaves the database closed (no WAL left open), so the next start opens it cleanly', async () => {
    dir = makeTempDir('cloudos-assembly-')
    const good = loadEdgeConfig(undefined, { mqtt: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } })
    // An inconsistent rule (clear level on the wrong side) slipped past the
    // loader: the rules service refuses it while the runtime is assembled,
    // after the database has been opened and before any service has started.
    const bad = { ...good, rules: { hot: { max: 80, clearMax: 81 } } } as unknown as EdgeConfig
    await expect(new EdgeRuntime({ dataDir: dir.path, config: bad }).start()).rejects.toMatchObject({ code: 'RULES_ERR_INVALID' })
    // A closed connection (the last one) checkpoints and removes the WAL file.
    expect(existsSync(join(dir.path, EDGE_DB_FILE))).toBe(true)
    expect(existsSync(join(dir.path, `${EDGE_DB_FILE}-wal`))).toBe(false)
    const db = openEdgeDatabase({ dataDir: dir.path, synchronous: 'normal' })
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    db.close()
  })
})
