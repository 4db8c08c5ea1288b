import type { Migration } from '../../shared/sqlite/migrations.js'

/**
 * The hub's schema, versioned like the edge's (edge/store/migrations.ts runs
 * them: each once, in its own transaction). Append; never edit a shipped one.
 */
export const hubMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, append-only audit log with signed head',
    sql: `
      CREATE TABLE users (
        id             TEXT PRIMARY KEY,
        username       TEXT NOT NULL UNIQUE,
        role           TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        password_hash  TEXT NOT NULL,
        totp_secret    TEXT NOT NULL,
        totp_last_step INTEGER,
        created_at     INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX sessions_by_expiry ON sessions (expires_at);
      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        ts        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        details   TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
      );
      -- Append-only: the hub never updates or deletes an entry. Someone with
      -- the file can still drop these triggers; the hash chain and the signed
      -- head are what detect that (cloudos hub audit verify).
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TABLE audit_head (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        seq       INTEGER NOT NULL,
        hash      TEXT NOT NULL,
        signature TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'enrolment tokens and devices',
    sql: `
      CREATE TABLE enrolment_tokens (
        id         TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        group_name TEXT NOT NULL,
        tier       TEXT NOT NULL CHECK (tier IN ('edge', 'lite')),
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER,
        device_id  TEXT
      );
      CREATE TABLE devices (
        id                 TEXT PRIMARY KEY,
        name               TEXT NOT NULL,
        group_name         TEXT NOT NULL,
        tier               TEXT NOT NULL CHECK (tier IN ('edge', 'lite')),
        public_key         TEXT NOT NULL UNIQUE,
        facts              TEXT NOT NULL,
        status             TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        enrolment_token_id TEXT NOT NULL REFERENCES enrolment_tokens(id),
        enrolled_at        INTEGER NOT NULL,
        last_seen_at       INTEGER,
        revoked_at         INTEGER
      );
      CREATE INDEX devices_by_group ON devices (group_name, status);
    `,
  },
  {
    version: 3,
    name: 'fleet liveness, health history, status transitions, fleet events, alerts',
    sql: `
      -- liveness: 'never-seen' until the first heartbeat, then 'online'/'offline'
      -- (a revoked device keeps its last liveness; status says it is revoked).
      ALTER TABLE devices ADD COLUMN liveness TEXT NOT NULL DEFAULT 'never-seen' CHECK (liveness IN ('never-seen', 'online', 'offline'));
      ALTER TABLE devices ADD COLUMN last_heartbeat_at INTEGER;
      ALTER TABLE devices ADD COLUMN heartbeat_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE devices ADD COLUMN health TEXT;
      ALTER TABLE devices ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
      CREATE INDEX devices_by_liveness ON devices (liveness, last_heartbeat_at);
      CREATE INDEX devices_by_enrolment ON devices (enrolled_at, id);
      -- A ring of fleet.healthHistoryLength slots per device (slot = heartbeat
      -- count modulo the length): bounded without a DELETE per heartbeat.
      CREATE TABLE device_health (
        device_id TEXT NOT NULL,
        slot      INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        health    TEXT NOT NULL,
        PRIMARY KEY (device_id, slot)
      ) WITHOUT ROWID;
      CREATE TABLE device_status_transitions (
        id          INTEGER PRIMARY KEY,
        device_id   TEXT NOT NULL,
        at          INTEGER NOT NULL,
        from_status TEXT NOT NULL,
        to_status   TEXT NOT NULL,
        reason      TEXT NOT NULL
      );
      CREATE INDEX transitions_by_device ON device_status_transitions (device_id, id);
      CREATE TABLE fleet_events (
        id        INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        device_id TEXT NOT NULL,
        details   TEXT NOT NULL
      );
      CREATE INDEX fleet_events_by_device ON fleet_events (device_id, id);
      CREATE INDEX fleet_events_by_kind ON fleet_events (kind, id);
      CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY,
        device_id       TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        raised_at       INTEGER NOT NULL,
        received_at     INTEGER NOT NULL,
        sensor_id       TEXT NOT NULL,
        metric          TEXT NOT NULL,
        severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        rule            TEXT NOT NULL,
        value           REAL,
        message         TEXT NOT NULL,
        acknowledged_at INTEGER,
        acknowledged_by TEXT,
        UNIQUE (device_id, seq)
      );
      CREATE INDEX alerts_by_raised ON alerts (raised_at, id);
    `,
  },
  {
    version: 4,
    name: 'telemetry: batches uploaded by devices (codec bytes), series index, per-device upload state',
    sql: `
      -- The hub keeps each batch as the codec bytes the device sent (about 5
      -- bytes per reading, already validated by decoding) rather than a row per
      -- reading: storing is one insert per batch (>= 1M readings/s, cloudos
      -- bench sync) and queries decode only the batches that overlap.
      -- (device_id, seq) is the idempotency key: a repeat is a duplicate.
      CREATE TABLE telemetry_batches (
        id            INTEGER PRIMARY KEY,
        device_id     TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        ts_min        INTEGER NOT NULL,
        ts_max        INTEGER NOT NULL,
        reading_count INTEGER NOT NULL,
        received_at   INTEGER NOT NULL,
        bytes         BLOB NOT NULL,
        UNIQUE (device_id, seq)
      );
      CREATE TABLE telemetry_series (
        batch_id  INTEGER NOT NULL REFERENCES telemetry_batches(id),
        device_id TEXT NOT NULL,
        sensor_id TEXT NOT NULL,
        metric    TEXT NOT NULL,
        ts_min    INTEGER NOT NULL,
        ts_max    INTEGER NOT NULL,
        count     INTEGER NOT NULL
      );
      CREATE INDEX telemetry_series_by_key ON telemetry_series (device_id, sensor_id, metric, ts_max);
      CREATE TABLE telemetry_devices (
        device_id        TEXT PRIMARY KEY,
        last_seq         INTEGER NOT NULL,
        batches          INTEGER NOT NULL,
        readings         INTEGER NOT NULL,
        dropped_readings INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: 'OTA: trusted release keys, releases, rollouts with waves, per-device rollout state',
    sql: `
      CREATE TABLE release_keys (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        added_by       TEXT NOT NULL,
        added_at       INTEGER NOT NULL
      );
      CREATE TABLE releases (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL,
        version        TEXT NOT NULL,
        kind           TEXT NOT NULL,
        manifest       TEXT NOT NULL,
        bundle_file    TEXT NOT NULL,
        bundle_bytes   INTEGER NOT NULL,
        bundle_sha256  TEXT NOT NULL,
        signing_key_id TEXT NOT NULL,
        uploaded_by    TEXT NOT NULL,
        uploaded_at    INTEGER NOT NULL,
        UNIQUE (name, version)
      );
      CREATE TABLE rollouts (
        id              TEXT PRIMARY KEY,
        release_id      TEXT NOT NULL, -- no foreign key: finished rollouts outlive a deleted release
        target          TEXT NOT NULL,
        allow_downgrade INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('running', 'paused', 'halted', 'aborted', 'completed')),
        current_wave    INTEGER NOT NULL,
        waves           TEXT NOT NULL,
        created_by      TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        paused_at       INTEGER,
        finished_at     INTEGER,
        reason          TEXT
      );
      CREATE INDEX rollouts_by_state ON rollouts (state, created_at);
      CREATE INDEX rollouts_by_release ON rollouts (release_id);
      CREATE TABLE rollout_devices (
        rollout_id      TEXT NOT NULL REFERENCES rollouts(id),
        device_id       TEXT NOT NULL,
        wave            INTEGER NOT NULL,
        state           TEXT NOT NULL,
        code            TEXT,
        reason          TEXT,
        running_version TEXT,
        updated_at      INTEGER NOT NULL,
        reported_at     INTEGER,
        committed_at    INTEGER,
        PRIMARY KEY (rollout_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX rollout_devices_by_device ON rollout_devices (device_id);
      CREATE INDEX rollout_devices_by_wave ON rollout_devices (rollout_id, wave, state);
    `,
  },
  {
    version: 5,
    name: 'config documents (Automerge), per-peer sync states, reported config state',
    sql: `
      -- One Automerge document per group and per device: doc_id is
      -- 'group:<name>' or 'device:<deviceId>'; bytes is Automerge.save().
      CREATE TABLE config_documents (
        doc_id     TEXT PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('group', 'device')),
        name       TEXT NOT NULL,
        bytes      BLOB NOT NULL,
        heads      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- Automerge.encodeSyncState per (peer device, document): the shared
      -- heads, so a reconnecting device is sent only what it lacks.
      CREATE TABLE config_sync_states (
        peer       TEXT NOT NULL,
        doc_id     TEXT NOT NULL,
        state      BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (peer, doc_id)
      ) WITHOUT ROWID;
      -- What each device last reported (device twin: reported vs desired).
      CREATE TABLE config_reported (
        device_id   TEXT PRIMARY KEY,
        report      TEXT NOT NULL,
        reported_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 7,
    name: 'hub-side alerts (compliance policy violations), one open alert per violation',
    sql: `
      -- Alerts the hub raises itself (source 'policy': cloud/compliance/policy-evaluator.ts),
      -- beside the alerts devices forward (table alerts, keyed by device and seq).
      -- kind is the control (admin-mfa, audit-chain, ...), subject what breaks it
      -- (an account, a device, a key); cleared_at is set when the violation is resolved.
      CREATE TABLE hub_alerts (
        id         INTEGER PRIMARY KEY,
        source     TEXT NOT NULL CHECK (source IN ('policy')),
        kind       TEXT NOT NULL,
        subject    TEXT NOT NULL,
        severity   TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        message    TEXT NOT NULL,
        raised_at  INTEGER NOT NULL,
        cleared_at INTEGER
      );
      -- Once per violation, not every evaluation: at most one open alert per (source, kind, subject),
      -- even with two hub processes on one file.
      CREATE UNIQUE INDEX hub_alerts_open ON hub_alerts (source, kind, subject) WHERE cleared_at IS NULL;
      CREATE INDEX hub_alerts_by_raised ON hub_alerts (raised_at, id);
    `,
  },
  {
    version: 8,
    name: 'replay nonces that outlive a restart; users that can be disabled',
    sql: `
      -- Device request nonces (shared/device-auth), each kept until the end of
      -- the window in which its timestamp is still accepted: a request captured
      -- before a restart is refused after it too. Pruned by expiry.
      CREATE TABLE replay_nonces (
        device_id  TEXT NOT NULL,
        nonce      TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, nonce)
      ) WITHOUT ROWID;
      CREATE INDEX replay_nonces_by_expiry ON replay_nonces (expires_at);
      -- A disabled account cannot log in and its tokens stop working at once.
      ALTER TABLE users ADD COLUMN disabled_at INTEGER;
      CREATE INDEX sessions_by_user ON sessions (user_id);
    `,
  },
  {
    version: 9,
    name: 'upload streams: batches and alerts keyed by (device, epoch, seq) and known by content sha256',
    sql: `
      -- Issue 13: (device, seq) alone took a restored edge's new data for a
      -- repeat. Now a batch or alert is keyed by (device, stream epoch, seq)
      -- and carries the sha256 of its content: held content is a duplicate in
      -- any epoch, the same key with other content is 409
      -- HUB_ERR_STREAM_CONFLICT. Rows from before have epoch '0' (every
      -- device's first stream) and no hash (a repeat of their key is taken as
      -- a duplicate, as before). SQLite cannot drop a UNIQUE constraint, so the
      -- tables are rebuilt (children first, foreign keys stay on).
      CREATE TABLE telemetry_batches_v7 (
        id             INTEGER PRIMARY KEY,
        device_id      TEXT NOT NULL,
        epoch          TEXT NOT NULL DEFAULT '0',
        seq            INTEGER NOT NULL,
        content_sha256 TEXT,
        ts_min         INTEGER NOT NULL,
        ts_max         INTEGER NOT NULL,
        reading_count  INTEGER NOT NULL,
        received_at    INTEGER NOT NULL,
        bytes          BLOB NOT NULL,
        UNIQUE (device_id, epoch, seq)
      );
      INSERT INTO telemetry_batches_v7 (id, device_id, seq, ts_min, ts_max, reading_count, received_at, bytes)
        SELECT id, device_id, seq, ts_min, ts_max, reading_count, received_at, bytes FROM telemetry_batches;
      CREATE TABLE telemetry_series_v7 (
        batch_id  INTEGER NOT NULL REFERENCES telemetry_batches_v7(id),
        device_id TEXT NOT NULL,
        sensor_id TEXT NOT NULL,
        metric    TEXT NOT NULL,
        ts_min    INTEGER NOT NULL,
        ts_max    INTEGER NOT NULL,
        count     INTEGER NOT NULL
      );
      INSERT INTO telemetry_series_v7 SELECT * FROM telemetry_series;
      DROP TABLE telemetry_series;
      DROP TABLE telemetry_batches;
      ALTER TABLE telemetry_batches_v7 RENAME TO telemetry_batches;
      ALTER TABLE telemetry_series_v7 RENAME TO telemetry_series;
      CREATE INDEX telemetry_series_by_key ON telemetry_series (device_id, sensor_id, metric, ts_max);
      CREATE INDEX telemetry_batches_by_content ON telemetry_batches (device_id, content_sha256) WHERE content_sha256 IS NOT NULL;

      CREATE TABLE alerts_v7 (
        id              INTEGER PRIMARY KEY,
        device_id       TEXT NOT NULL,
        epoch           TEXT NOT NULL DEFAULT '0',
        seq             INTEGER NOT NULL,
        content_sha256  TEXT,
        raised_at       INTEGER NOT NULL,
        received_at     INTEGER NOT NULL,
        sensor_id       TEXT NOT NULL,
        metric          TEXT NOT NULL,
        severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        rule            TEXT NOT NULL,
        value           REAL,
        message         TEXT NOT NULL,
        acknowledged_at INTEGER,
        acknowledged_by TEXT,
        UNIQUE (device_id, epoch, seq)
      );
      INSERT INTO alerts_v7 (id, device_id, seq, raised_at, received_at, sensor_id, metric, severity, rule, value, message, acknowledged_at, acknowledged_by)
        SELECT id, device_id, seq, raised_at, received_at, sensor_id, metric, severity, rule, value, message, acknowledged_at, acknowledged_by FROM alerts;
      DROP TABLE alerts;
      ALTER TABLE alerts_v7 RENAME TO alerts;
      CREATE INDEX alerts_by_raised ON alerts (raised_at, id);
      CREATE INDEX alerts_by_content ON alerts (device_id, content_sha256) WHERE content_sha256 IS NOT NULL;

      -- Every epoch a device has uploaded under, and when the hub first saw it.
      CREATE TABLE device_stream_epochs (
        device_id     TEXT NOT NULL,
        epoch         TEXT NOT NULL,
        first_seen_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, epoch)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO device_stream_epochs (device_id, epoch, first_seen_at)
        SELECT device_id, '0', min(received_at) FROM telemetry_batches GROUP BY device_id;
      INSERT OR IGNORE INTO device_stream_epochs (device_id, epoch, first_seen_at)
        SELECT device_id, '0', min(received_at) FROM alerts GROUP BY device_id;
    `,
  },
]
