import { applyMigrations, latestVersion, type Migration } from '../../shared/sqlite/migrations.js'
import type { SqliteDatabase } from '../../shared/sqlite/database.js'

/** The edge database's schema, migration by migration (runner: shared/sqlite/migrations.ts). */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'readings, series, dead letters, counters',
    sql: `
      CREATE TABLE series (
        id            INTEGER PRIMARY KEY,
        sensor_id     TEXT NOT NULL,
        metric        TEXT NOT NULL,
        first_ts      INTEGER,
        last_ts       INTEGER,
        last_value    REAL,
        reading_count INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL,
        UNIQUE (sensor_id, metric)
      );
      -- Readings are stored as columnar chunks: one row holds the readings of
      -- one series from one group commit (timestamps and values as packed
      -- little-endian float64 arrays, sorted by ts). A row per reading with an
      -- index on (series, ts) caps SQLite at ~350k readings/s on this class of
      -- machine; chunks reach millions (see docs/architecture.md).
      CREATE TABLE reading_chunks (
        id           INTEGER PRIMARY KEY,
        series_id    INTEGER NOT NULL REFERENCES series(id),
        ts_min       INTEGER NOT NULL,
        ts_max       INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        encoding     INTEGER NOT NULL,
        timestamps   BLOB NOT NULL,
        vals         BLOB NOT NULL,
        committed_at INTEGER NOT NULL
      );
      CREATE INDEX reading_chunks_by_series ON reading_chunks (series_id, ts_max);
      CREATE INDEX reading_chunks_by_age ON reading_chunks (ts_max);
      CREATE TABLE dead_letters (
        id            INTEGER PRIMARY KEY,
        received_at   INTEGER NOT NULL,
        topic         TEXT NOT NULL,
        reason        TEXT NOT NULL,
        detail        TEXT NOT NULL,
        payload       BLOB,
        payload_bytes INTEGER NOT NULL
      );
      CREATE INDEX dead_letters_by_reason ON dead_letters (reason, id);
      CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'alerts (raised locally, forwarded to the hub)',
    sql: `
      -- seq is the device's alert sequence number: AUTOINCREMENT so a seq is
      -- never reused even after rows are deleted, because the hub
      -- de-duplicates forwarded alerts by (device, seq).
      CREATE TABLE alerts (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        raised_at    INTEGER NOT NULL,
        sensor_id    TEXT NOT NULL,
        metric       TEXT NOT NULL,
        severity     TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        rule         TEXT NOT NULL,
        value        REAL NOT NULL,
        message      TEXT NOT NULL,
        forwarded_at INTEGER
      );
      CREATE INDEX alerts_unforwarded ON alerts (seq) WHERE forwarded_at IS NULL;
    `,
  },
  {
    version: 3,
    name: 'outbox: sealed telemetry batches (codec bytes) kept until the hub confirms',
    sql: `
      -- One row per sealed batch: the codec bytes of a closed time window of
      -- raw chunks (docs/formats/batch.md), about 5 bytes per reading instead
      -- of 16. seq is the batch's sequence number, the hub's idempotency key
      -- with the device id: AUTOINCREMENT so a seq is never reused after the
      -- budget prunes rows. uploaded_at is set after the hub's 200 (or its
      -- final refusal: refused = 1).
      CREATE TABLE outbox_batches (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_min        INTEGER NOT NULL,
        ts_max        INTEGER NOT NULL,
        reading_count INTEGER NOT NULL,
        byte_size     INTEGER NOT NULL,
        bytes         BLOB NOT NULL,
        sealed_at     INTEGER NOT NULL,
        uploaded_at   INTEGER,
        refused       INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX outbox_batches_unsent ON outbox_batches (seq) WHERE uploaded_at IS NULL;
      CREATE INDEX outbox_batches_by_age ON outbox_batches (ts_max);
      -- Which series each batch holds, so local queries decode only the
      -- batches that hold the series asked for, and retention keeps the
      -- series summaries right.
      CREATE TABLE outbox_batch_series (
        seq       INTEGER NOT NULL REFERENCES outbox_batches(seq) ON DELETE CASCADE,
        series_id INTEGER NOT NULL REFERENCES series(id),
        ts_min    INTEGER NOT NULL,
        ts_max    INTEGER NOT NULL,
        count     INTEGER NOT NULL,
        PRIMARY KEY (series_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX outbox_batch_series_by_batch ON outbox_batch_series (seq);
      -- Small durable facts of the outbox: the last seq the hub confirmed.
      CREATE TABLE outbox_state (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    name: 'anomaly scores beside readings; alerts can be cleared',
    sql: `
      -- Scores come from the model a tick after their readings were accepted,
      -- so they are stored as their own chunks (one row per series per score
      -- commit, packed float64 like reading_chunks) and joined on (series, ts)
      -- when read. Retention deletes them with the readings they describe.
      CREATE TABLE anomaly_score_chunks (
        id         INTEGER PRIMARY KEY,
        series_id  INTEGER NOT NULL REFERENCES series(id),
        ts_min     INTEGER NOT NULL,
        ts_max     INTEGER NOT NULL,
        count      INTEGER NOT NULL,
        timestamps BLOB NOT NULL,
        scores     BLOB NOT NULL,
        model      TEXT NOT NULL
      );
      CREATE INDEX anomaly_score_chunks_by_series ON anomaly_score_chunks (series_id, ts_max);
      CREATE INDEX anomaly_score_chunks_by_age ON anomaly_score_chunks (ts_max);
      -- When the incident behind an alert ended (the rule's clear level was reached).
      ALTER TABLE alerts ADD COLUMN cleared_at INTEGER;
    `,
  },
  {
    version: 5,
    name: 'config replicas (Automerge), per-peer sync states, applied config',
    sql: `
      -- This edge's replicas of its device document and its group's
      -- (doc = 'device' | 'group'; name = device id or group name).
      CREATE TABLE config_replicas (
        doc        TEXT PRIMARY KEY CHECK (doc IN ('device', 'group')),
        name       TEXT NOT NULL,
        bytes      BLOB NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- Automerge.encodeSyncState per (peer, doc): reconnects send only what is missing.
      CREATE TABLE config_sync_states (
        peer       TEXT NOT NULL,
        doc        TEXT NOT NULL,
        state      BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (peer, doc)
      ) WITHOUT ROWID;
      -- The last good (applied) effective config, the heads it came from, and
      -- the outcome of the latest apply attempt (errors, keys awaiting a restart).
      CREATE TABLE config_applied (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        config          TEXT NOT NULL,
        applied_heads   TEXT NOT NULL,
        applied_at      INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
        errors          TEXT NOT NULL,
        pending_restart TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'upload stream epochs (a restored or copied database starts a new one)',
    sql: `
      -- The hub keys batches and alerts by (device, epoch, seq) and knows them
      -- by content (sha256). A database restored from a backup reuses seqs the
      -- hub already holds with other content: the edge then starts a new
      -- epoch (docs/operations.md, "Backups"). The newest row is the current
      -- epoch; every row is a record of when and why one started. Epoch '0'
      -- is every device's first stream (and what older edges uploaded under).
      CREATE TABLE stream_epochs (
        id             INTEGER PRIMARY KEY,
        epoch          TEXT NOT NULL UNIQUE,
        started_at     INTEGER NOT NULL,
        reason         TEXT NOT NULL CHECK (reason IN ('initial', 'restored', 'conflict', 'marker-missing')),
        details        TEXT NOT NULL DEFAULT '{}',
        -- 1 once the marker file (stream-epoch.json, outside the database) was written for it.
        marker_written INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO stream_epochs (epoch, started_at, reason) VALUES ('0', CAST(unixepoch('subsec') * 1000 AS INTEGER), 'initial');
    `,
  },
]

export const LATEST_SCHEMA_VERSION = latestVersion(migrations)

/** Brings an edge database up to LATEST_SCHEMA_VERSION. */
export function applyEdgeMigrations(db: SqliteDatabase): number {
  return applyMigrations(db, migrations)
}
