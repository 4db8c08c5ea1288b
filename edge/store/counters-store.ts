import type { Statement } from 'better-sqlite3'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

/**
 * Lifetime totals that must survive restarts (readings stored, rejected per
 * reason, dropped by retention), updated in the same transaction as the data
 * they count so they can never disagree with it.
 */
export class CountersStore {
  readonly #db: SqliteDatabase
  readonly #add: Statement<[{ name: string; delta: number }]>

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#add = db.prepare('INSERT INTO counters (name, value) VALUES (@name, @delta) ON CONFLICT (name) DO UPDATE SET value = value + @delta')
  }

  /** Call inside a write transaction. */
  add(name: string, delta: number): void {
    if (delta !== 0) this.#add.run({ name, delta })
  }

  all(): Record<string, number> {
    const rows = this.#db.prepare('SELECT name, value FROM counters ORDER BY name').all() as { name: string; value: number }[]
    return Object.fromEntries(rows.map((r) => [r.name, r.value]))
  }
}
