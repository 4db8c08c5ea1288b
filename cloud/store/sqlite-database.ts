import type { SqliteDatabase } from '../../shared/sqlite/database.js'
import { openSqliteDatabase } from '../../shared/sqlite/open-database.js'
import { hubMigrations } from './hub-migrations.js'

export const HUB_DB_FILE = 'hub.db'

/**
 * Opens (creating if needed) the hub database in the data dir:
 * synchronous=FULL by default because the hub's writes are few and each one
 * (an account, an audit entry) must survive a power cut.
 */
export function openHubDatabase(dataDir: string, options: { synchronous?: 'FULL' | 'NORMAL' } = {}): SqliteDatabase {
  return openSqliteDatabase({
    dir: dataDir,
    file: HUB_DB_FILE,
    synchronous: options.synchronous ?? 'FULL',
    busyTimeoutMs: 5000,
    // The database holds password hashes and TOTP secrets.
    ownerOnly: true,
    migrations: hubMigrations,
  })
}
