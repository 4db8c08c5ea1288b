import type Database from 'better-sqlite3'

/** One type for a better-sqlite3 connection, used by the edge and the hub stores alike. */
export type SqliteDatabase = Database.Database

/** Bytes in use by the database (pages not on the free list). */
export function databaseSizeBytes(db: SqliteDatabase): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  const pageCount = db.pragma('page_count', { simple: true }) as number
  const freePages = db.pragma('freelist_count', { simple: true }) as number
  return (pageCount - freePages) * pageSize
}
