// The error catalogue: one table of every coded error (edge, hub, CLI). It is longer than the
// house limit of 400 lines on purpose: a catalogue reads best as a single table, and docs/errors.md mirrors it row for row.
/**
 * The one catalogue of coded errors used by the edge, the hub and the CLI.
 *
 * Every failure a user can see carries a stable `code` from this table (like
 * fastify's FST_ERR_* or undici's error classes): scripts and dashboards may
 * match on codes, never on messages. `docs/errors.md` lists the same table and
 * a test keeps the two in agreement.
 */

export interface ErrorSpec {
  /** HTTP status used when this error answers an HTTP request. */
  readonly status: number
  /** One line saying what went wrong, in the user's terms. */
  readonly summary: string
  /** What the user can do about it. */
  readonly hint: string
}

export const errorCatalogue = {
  // --- telemetry ingest (dead-letter reasons) ---
  EDGE_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    summary: 'The MQTT payload is larger than ingest.maxPayloadBytes.',
    hint: 'Split the readings over several messages or raise ingest.maxPayloadBytes in the edge config.',
  },
  EDGE_ERR_MALFORMED_JSON: {
    status: 400,
    summary: 'The payload is not valid UTF-8 JSON.',
    hint: 'Publish {"ts": <epoch ms>, "value": <number>} or {"readings": [{"ts": .., "value": ..}]}.',
  },
  EDGE_ERR_INVALID_SHAPE: {
    status: 400,
    summary: 'The JSON is not a reading object nor a {"readings": [...]} batch.',
    hint: 'A reading is an object with a numeric "value" and an optional "ts"; a batch has a non-empty "readings" array.',
  },
  EDGE_ERR_INVALID_VALUE: {
    status: 400,
    summary: 'A reading\'s "value" is missing or not a number.',
    hint: 'Send "value" as a JSON number, not a string, boolean or null.',
  },
  EDGE_ERR_NON_FINITE_VALUE: {
    status: 400,
    summary: 'A reading\'s "value" is not finite (overflowed to Infinity).',
    hint: 'Send finite numbers only; report sensor faults on a separate topic.',
  },
  EDGE_ERR_INVALID_TIMESTAMP: {
    status: 400,
    summary: 'A reading\'s "ts" is not a non-negative number of milliseconds since the epoch.',
    hint: 'Send "ts" as epoch milliseconds (e.g. Date.now()), or omit it to use the broker receive time.',
  },
  EDGE_ERR_TIMESTAMP_OUT_OF_RANGE: {
    status: 400,
    summary: 'A reading\'s "ts" is too far in the future or the past compared with the edge clock.',
    hint: 'Fix the sensor clock, or widen ingest.maxFutureSkewMs / ingest.maxPastAgeMs in the edge config.',
  },
  EDGE_ERR_TOO_MANY_READINGS: {
    status: 413,
    summary: 'A batch holds more readings than ingest.maxReadingsPerMessage.',
    hint: 'Split the batch or raise ingest.maxReadingsPerMessage.',
  },
  EDGE_ERR_UNKNOWN_TOPIC: {
    status: 400,
    summary: 'A topic under sensors/ is not of the form sensors/<sensorId>/<metric>.',
    hint: 'Use exactly three levels; ids are 1-64 characters of A-Z a-z 0-9 _ - . :',
  },

  // --- edge link to the fleet hub ---
  EDGE_ERR_HUB_UNREACHABLE: {
    status: 503,
    summary: 'The edge cannot reach the fleet hub (connection refused, DNS failure or timeout).',
    hint: 'Check --hub (or hub.url): is the hub running and reachable from this device? Enrolment needs the hub; after it the edge keeps working offline.',
  },
  EDGE_ERR_HUB_ENROLMENT_REFUSED: {
    status: 401,
    summary: 'The hub refused the enrolment token (unknown, already used or expired).',
    hint: 'The message gives the hub\'s code and reason; ask an admin for a new enrolment token (POST /v1/enrolment-tokens) and pass it with --enroll-token.',
  },
  EDGE_ERR_HUB_REQUIREMENTS_UNMET: {
    status: 422,
    summary: 'The hub refused to enrol this device: it does not meet the hub\'s hardware or runtime minimums.',
    hint: 'The message names each unmet requirement; upgrade the device or free disk space in the data dir, or ask the hub operator to lower enrolment.minimums. The token is not used up.',
  },
  EDGE_ERR_HUB_NOT_ENROLLED: {
    status: 400,
    summary: 'A hub URL is set but this data dir holds no device identity, and no enrolment token was given.',
    hint: 'Enrol once with `cloudos edge --data-dir DIR --hub URL --enroll-token TOKEN`; later starts reuse the stored identity.',
  },
  EDGE_ERR_HUB_IDENTITY_UNREADABLE: {
    status: 500,
    summary: 'The device identity in the data dir (device-identity.json, device-key.pem) cannot be read or does not match.',
    hint: 'Restore both files from a backup, or move them away and enrol again with a new enrolment token.',
  },
  EDGE_ERR_HUB_REQUEST_FAILED: {
    status: 502,
    summary: 'The hub answered a device request with an unexpected error.',
    hint: 'The message gives the hub\'s code and reason; see docs/errors.md for the HUB_ERR_* code.',
  },
  EDGE_ERR_HUB_IDENTITY_MISMATCH: {
    status: 502,
    summary: 'The hub endpoint could not prove the pinned hub identity: its TLS certificate does not chain to the CA pinned at enrolment (or, at enrolment, to the CA pin in the token). The edge did not send anything to it.',
    hint: 'Someone may be impersonating the hub, or the URL points at another server. Check --hub; if the hub really changed its CA, enrol the device again with a new token. Counted in cloudos_edge_hub_identity_refusals_total.',
  },
  EDGE_ERR_HUB_INSECURE_URL: {
    status: 400,
    summary: 'The hub URL is plain http:// but plain HTTP was not allowed on this device.',
    hint: 'Use the hub\'s https:// URL. Only for a loopback demo or a hub behind a TLS proxy on the same host, allow plain HTTP on the device with --insecure-http (hub.insecureHttp).',
  },
  EDGE_ERR_HUB_TOKEN_MALFORMED: {
    status: 400,
    summary: 'The enrolment token is not of the form <secret>.<CA pin hex>, or has no CA pin for an https:// hub.',
    hint: 'Copy the whole token the hub printed (POST /v1/enrolment-tokens answers it as `token`): 43 characters, a dot, 64 hex characters.',
  },
  EDGE_ERR_HUB_ANSWER_INVALID: {
    status: 502,
    summary: 'The hub answered a device request with a body that does not match the wire contract (shared/protocol).',
    hint: 'The message names the exchange and the fields that do not match. Run edge and hub of the same CloudOS Lite version, and check that no proxy rewrites the hub\'s answers; the edge retries with backoff meanwhile.',
  },
  EDGE_ERR_HUB_ID_INVALID: {
    status: 502,
    summary: 'An identifier the hub sent (release, rollout, device id, group, bundle name, download path) does not match its pattern; it was not used.',
    hint: 'Identifiers are 1-64 characters of A-Z a-z 0-9 . _ - (shared/protocol/identifiers.ts). A hub of this version never sends others: check which hub the edge talks to (a proxy or an impostor).',
  },
  EDGE_ERR_PATH_OUTSIDE_ROOT: {
    status: 502,
    summary: 'A file path built from remote data (a hub answer, a bundle) would leave its directory under the data dir; nothing was read, written or deleted.',
    hint: 'The message names the root and the refused names. A hub or bundle of this version never causes it: treat the hub the edge talks to as hostile.',
  },

  EDGE_ERR_BROKER_UNREACHABLE: {
    status: 503,
    summary: 'The edge cannot connect to the external MQTT broker given with --broker.',
    hint: 'Check that the broker runs and listens at that URL, or drop --broker to use the embedded broker.',
  },

  // --- embedded MQTT broker: identity and authorisation (docs/mqtt-security.md) ---
  EDGE_ERR_MQTT_PUBLIC_NO_AUTH: {
    status: 500,
    summary: 'The embedded MQTT broker would listen on a non-loopback interface (mqtt.host) with no authentication configured, so it does not start.',
    hint: 'Add users with `cloudos mqtt user add --data-dir DIR NAME` (or set mqtt.passwordFile), or keep mqtt.host on 127.0.0.1, or set mqtt.allowAnonymous to true to accept anonymous clients knowingly (warned at every start).',
  },
  EDGE_ERR_MQTT_PASSWORD_FILE: {
    status: 500,
    summary: 'The MQTT password file (mqtt.passwordFile, default mqtt-passwords in the data dir) is missing, unreadable or has a malformed line.',
    hint: 'Fix or recreate the line named in the message with `cloudos mqtt user add`; a file that breaks while the edge runs is not taken and the previous users stay.',
  },
  EDGE_ERR_MQTT_ACL_FILE: {
    status: 500,
    summary: 'The MQTT ACL file (mqtt.aclFile) is unreadable or a line is not `user <name>`, `topic [read|write|readwrite|deny] <filter>` or `pattern [...] <filter>`.',
    hint: 'Fix the line named in the message (Mosquitto acl_file syntax, docs/mqtt-security.md); a file that breaks while the edge runs is not taken and the previous rules stay.',
  },
  EDGE_ERR_MQTT_USERNAME_INVALID: {
    status: 400,
    summary: 'An MQTT username is not 1-64 characters of A-Z a-z 0-9 _ . - (it is also a topic level, so it may not hold / + # or :).',
    hint: 'Choose a username such as the sensor id (e.g. boiler-1).',
  },
  EDGE_ERR_MQTT_USER_UNKNOWN: {
    status: 404,
    summary: 'The MQTT password file has no such user.',
    hint: 'List the users with `cloudos mqtt user list --data-dir DIR`.',
  },

  // --- embedded broker: listeners and resource limits ---
  EDGE_ERR_MQTT_LIMIT_EXCEEDED: {
    status: 429,
    summary: 'An MQTT client went over one of the embedded broker\'s limits (mqtt.limits.*) and was refused or disconnected.',
    hint: 'The message names the limit and the client. Fix the client (reconnect loop, oversized or retained payloads, too many subscriptions), or raise that mqtt.limits key in the edge config file; cloudos_edge_mqtt_limit_hits_total{limit} counts them.',
  },
  EDGE_ERR_TLS_LISTENER: {
    status: 500,
    summary: 'The broker\'s TLS listener cannot start: a file named by mqtt.tls.* is missing or unreadable, or the certificate and key do not match.',
    hint: 'Run `cloudos edge tls init --data-dir DIR` to create the files, and set mqtt.tls.certFile, keyFile (and caFile for client certificates) to the paths it prints.',
  },

  // --- configuration and command line ---
  CONFIG_ERR_UNREADABLE: {
    status: 400,
    summary: 'The config file cannot be read.',
    hint: 'Check the path and the file permissions.',
  },
  CONFIG_ERR_PARSE: {
    status: 400,
    summary: 'The config file is not valid JSON.',
    hint: 'Fix the JSON syntax at the position given.',
  },
  CONFIG_ERR_UNKNOWN_KEY: {
    status: 400,
    summary: 'The config has a key the schema does not know.',
    hint: 'Remove or correct the key; `docs/configuration.md` lists every key.',
  },
  CONFIG_ERR_DEVICE_LOCAL_KEY: {
    status: 403,
    summary: 'A config document from the hub or the local API sets a key that only the device\'s own config file may set (it grants trust or runs code).',
    hint: 'Set it in the edge config file on the device itself (--config); the rest of the document still applies.',
  },
  CONFIG_ERR_INVALID_VALUE: {
    status: 400,
    summary: 'A config value has the wrong type or is out of range.',
    hint: 'Use a value of the type and range given in the message.',
  },
  CONFIG_ERR_EMPTY_EDIT: {
    status: 400,
    summary: 'The config edit sets and unsets nothing.',
    hint: 'Give at least one key=value to set or one key to unset.',
  },
  CONFIG_ERR_DOCUMENT_CORRUPT: {
    status: 500,
    summary: 'A stored config document (Automerge) does not decode.',
    hint: 'Restore the data directory from a backup; the other replicas (hub or edge) still hold the document and resync it.',
  },
  CONFIG_ERR_SYNC_MESSAGE_MALFORMED: {
    status: 400,
    summary: 'A config sync message is not base64 or not an Automerge sync message, or Automerge refused it.',
    hint: 'Nothing was applied; the sender should restart its sync session (it does so by itself after an error).',
  },
  CONFIG_ERR_FORBIDDEN_DOC: {
    status: 403,
    summary: "A device tried to sync or change a config document that is not its own device document (e.g. its group's, or another device's).",
    hint: 'A device edits only its own device document; change group settings at the hub (cloudos config set --group).',
  },
  CONFIG_ERR_MERGED_INVALID: {
    status: 409,
    summary: 'The merged config (defaults, file, group and device documents) does not validate: the edge keeps its last good config.',
    hint: 'Fix or unset the keys named in details.problems in the group or device document.',
  },
  CONFIG_ERR_REQUEST_FAILED: {
    status: 502,
    summary: 'The config command could not reach the hub or the edge, or it refused the request.',
    hint: 'Check --hub/--edge and --token (or CLOUDOS_HUB_URL / CLOUDOS_HUB_TOKEN) and the message.',
  },
  CLI_ERR_INVALID_FLAG: {
    status: 400,
    summary: 'A command-line flag has an invalid value.',
    hint: 'Run the command with --help to see what each flag accepts.',
  },

  // --- storage ---
  STORE_ERR_SCHEMA_TOO_NEW: {
    status: 500,
    summary: 'The data directory was written by a newer CloudOS Lite (unknown schema version).',
    hint: 'Run the newer version, or point --data-dir at another directory.',
  },
  STORE_ERR_MIGRATION_FAILED: {
    status: 500,
    summary: 'A schema migration failed; the database was left at its previous version.',
    hint: 'Report the error with the migration name; the data directory is unchanged.',
  },

  // --- edge local API ---
  API_ERR_INVALID_QUERY: {
    status: 400,
    summary: 'A query parameter is missing or invalid.',
    hint: 'See the API section of the README for the accepted parameters.',
  },
  API_ERR_NOT_FOUND: {
    status: 404,
    summary: 'No such route or resource.',
    hint: 'Check the URL; GET /v1 lists the available routes.',
  },
  API_ERR_INTERNAL: {
    status: 500,
    summary: 'An unexpected error occurred while answering the request.',
    hint: 'See the edge log for details; the request can be retried.',
  },
  API_ERR_UNAUTHORIZED: {
    status: 401,
    summary: 'The request changes state (or comes from another machine) and carries no valid bearer token.',
    hint: 'Send `Authorization: Bearer <token>` with the token from <data dir>/api-token (readable by the edge\'s user only); `cloudos edge token rotate --data-dir DIR` makes a new one.',
  },
  API_ERR_HOST_REFUSED: {
    status: 403,
    summary: 'The request\'s Host header names neither a loopback name nor the configured http.host (DNS rebinding protection).',
    hint: 'Call the API as http://127.0.0.1:<port> or http://localhost:<port>, or by the address set in http.host.',
  },

  // --- edge outbox (store-and-forward to the hub) ---
  OUTBOX_ERR_CORRUPT_BATCH: {
    status: 500,
    summary: 'A sealed telemetry batch in the edge database cannot be decoded (storage damaged).',
    hint: 'Run `PRAGMA integrity_check` on edge.db and restore it from a backup; other batches are still served and uploaded.',
  },
  OUTBOX_ERR_HUB_REFUSED: {
    status: 502,
    summary: 'The hub refused a telemetry batch for good (4xx other than a sequence conflict); its readings were counted as dropped and the outbox moved on.',
    hint: 'The message gives the hub\'s code (TELEMETRY_ERR_*); the readings stay queryable on the edge until retention removes them.',
  },
  OUTBOX_ERR_SEQ_CONFLICT: {
    status: 409,
    summary: 'The hub holds a different batch sequence for this device than the edge expected (the hub lost data, or the device was restored from an old backup).',
    hint: 'The edge re-sends the batches after the hub\'s last sequence that it still holds; nothing to do unless it repeats.',
  },

  OUTBOX_ERR_STREAM_RESTORED: {
    status: 409,
    summary: 'The edge database is not the one that last talked to the hub (restored from a backup, copied, or the hub holds different content for a sequence number): the edge started a new upload stream epoch.',
    hint: 'Nothing is lost: the edge re-sends under the new epoch what the hub does not hold, and the hub keeps both epochs apart. GET /v1/stats shows the current epoch (hub.outbox.streamEpoch) and how many were started (lifetime stream_epoch.*); the hub records the event (device.stream_epoch in the audit log).',
  },

  // --- hub telemetry ---
  TELEMETRY_ERR_BATCH_INVALID: {
    status: 400,
    summary: 'The telemetry batch is corrupt, truncated or of an unknown format version; nothing was stored.',
    hint: 'details.reason gives the codec\'s BATCH_ERR_* code (docs/formats/batch.md); the device should re-encode the batch with a supported codec version.',
  },
  TELEMETRY_ERR_BATCH_TOO_LARGE: {
    status: 413,
    summary: 'The telemetry batch decompresses to more bytes or readings than the hub accepts (a decompression bomb is refused before it is inflated); nothing was stored.',
    hint: 'Send smaller batches (edge outbox.maxBatchReadings) or raise telemetry.maxDecompressedBytes / telemetry.maxReadingsPerBatch in the hub config.',
  },
  TELEMETRY_ERR_SEQ_OUT_OF_ORDER: {
    status: 409,
    summary: 'The batch sequence number does not follow the last one the hub stored for this device; nothing was stored.',
    hint: 'details.expectedSeq and details.lastSeq say where the hub is; send batches in order, declaring batches dropped at the edge with ?previousSeq=.',
  },
  HUB_ERR_STREAM_CONFLICT: {
    status: 409,
    summary: 'The hub already holds this (device, stream epoch, sequence number) with different content (sha256): the device reuses sequence numbers, e.g. after its database was restored from a backup or copied. Nothing was stored.',
    hint: 'An edge of this version starts a new stream epoch and re-sends; details give the epoch, seq and both hashes. Repeated conflicts from one device mean two devices share its identity.',
  },
  HUB_ERR_CONTENT_HASH_MISMATCH: {
    status: 400,
    summary: 'The content sha256 sent with a telemetry or alert batch is not the sha256 of its canonical bytes; nothing was stored.',
    hint: 'Send the lower-case hex sha256 of the batch bytes (telemetry) or of each alert\'s canonical JSON (docs/formats/batch.md, "Uploading a batch").',
  },
  TELEMETRY_ERR_QUERY_TOO_LARGE: {
    status: 400,
    summary: 'The telemetry query would return more raw points than telemetry.maxQueryPoints.',
    hint: 'Narrow from/to, or ask for down-sampled data with step= (milliseconds per bucket).',
  },

  // --- simulator ---
  SIM_ERR_CSV_UNREADABLE: {
    status: 400,
    summary: 'The replay CSV file cannot be read.',
    hint: 'Check the path and permissions of the --replay file.',
  },
  SIM_ERR_CSV_FORMAT: {
    status: 400,
    summary: 'The replay CSV file is not in the expected format.',
    hint: 'A replay file is UTF-8 CSV with the header "timestamp,value", then one "YYYY-MM-DD HH:MM:SS,<number>" row per line (UTC unless the timestamp has a zone).',
  },
  SIM_ERR_BROKER_UNREACHABLE: {
    status: 503,
    summary: 'The simulator cannot reach the MQTT broker.',
    hint: 'Check --mqtt: is the edge (or broker) running and listening at that address?',
  },

  // --- anomaly models (models/, shared/anomaly) ---
  MODEL_ERR_FILE_UNREADABLE: {
    status: 400,
    summary: 'The model file or its card cannot be read.',
    hint: 'Check the path and permissions; a model x.onnx needs its card beside it as x.card.json (see docs/formats/model-card.md).',
  },
  MODEL_ERR_CARD_INVALID: {
    status: 400,
    summary: 'The model card is not valid JSON or does not follow the card format.',
    hint: 'Fix the field named in the message; docs/formats/model-card.md describes every field.',
  },
  MODEL_ERR_CARD_MISMATCH: {
    status: 400,
    summary: 'The model file does not match its card (sha256, input or output names or shapes, or reference outputs).',
    hint: 'Use the card written with this model file, or regenerate the card after exporting the model; the message names the first difference.',
  },
  MODEL_ERR_LOAD_FAILED: {
    status: 400,
    summary: 'onnxruntime cannot load the model file (corrupt, truncated or not ONNX).',
    hint: 'Re-export or re-copy the model file; the previous model keeps running.',
  },
  MODEL_ERR_INFERENCE_FAILED: {
    status: 500,
    summary: 'The model failed or returned non-finite or wrongly shaped outputs when run.',
    hint: 'Check the model with `cloudos detect` on a known file; the previous model keeps running after a failed swap.',
  },
  MODEL_ERR_TRAINING_FAILED: {
    status: 500,
    summary: 'Training diverged (non-finite loss) or could not write its output.',
    hint: 'Try another --seed or fewer --epochs, and check that --out is writable.',
  },

  // --- benchmarks and tooling ---
  BENCH_ERR_SETUP: {
    status: 500,
    summary: 'A benchmark could not set up its processes.',
    hint: 'Read the message; ports may be busy or a required program may be missing.',
  },

  // --- backtesting (cloudos detect) and NAB evaluation (cloudos model eval --nab) ---
  DETECT_ERR_INPUT_UNREADABLE: {
    status: 400,
    summary: 'The input CSV of cloudos detect cannot be read.',
    hint: 'Check the path and permissions of the --input file.',
  },
  DETECT_ERR_CSV_FORMAT: {
    status: 400,
    summary: 'The input CSV of cloudos detect is not a timestamp,value file (bad header, field count or timestamp).',
    hint: 'The first line must be "timestamp,value"; each row is "YYYY-MM-DD HH:MM:SS,<number>" (UTC) or "<epoch ms>,<number>". The message names the line.',
  },
  DETECT_ERR_BAD_VALUE: {
    status: 400,
    summary: 'A row of the input CSV has a value that is not a finite number (reported only with --strict; otherwise the row is skipped and counted).',
    hint: 'Fix or remove the row named in the message, or drop --strict to skip such rows as the edge does.',
  },
  DETECT_ERR_OUTPUT_UNWRITABLE: {
    status: 500,
    summary: 'The output CSV of cloudos detect cannot be written.',
    hint: 'Check that the --output directory exists and is writable, and that the disk has space.',
  },
  NAB_ERR_LAYOUT: {
    status: 400,
    summary: 'The folder is not a NAB corpus (data/<category>/<file>.csv and labels/combined_windows.json).',
    hint: 'Point --nab at a folder laid out like NAB: data/<category>/*.csv, labels/combined_windows.json and optionally profiles.json.',
  },
  NAB_ERR_LABELS: {
    status: 400,
    summary: 'labels/combined_windows.json is invalid or does not match the data files.',
    hint: 'Each data file needs an entry "<category>/<file>.csv": [["start", "end"], ...] with timestamps like "2014-04-10 07:15:00.000000" that fall within the file.',
  },
  NAB_ERR_PROFILES: {
    status: 400,
    summary: 'profiles.json is invalid.',
    hint: 'Use NAB\'s layout: {"standard": {"CostMatrix": {"tpWeight": 1, "fpWeight": 0.11, "fnWeight": 1, "tnWeight": 1}}, ...}; weights are non-negative numbers.',
  },
  NAB_ERR_RESULTS: {
    status: 400,
    summary: 'A detection results CSV does not match its data file (missing, other rows, or no numeric anomaly_score column).',
    hint: 'Results files are <category>/<file>.csv with the data file\'s rows in order and an anomaly_score column, as cloudos detect writes them.',
  },
  NAB_ERR_DETECT_FAILED: {
    status: 500,
    summary: 'Running the detector over a corpus file failed.',
    hint: 'The message names the file and the detector\'s error; run cloudos detect on that file alone to see it.',
  },

  // --- edge inference loop and local rules ---
  RULES_ERR_INVALID: {
    status: 400,
    summary: 'A rule in the edge config is inconsistent (no condition, or a clear level on the wrong side of its trigger).',
    hint: 'The message names the rule and the field; docs/configuration.md describes each rule field.',
  },
  RULES_ERR_ACTION_FAILED: {
    status: 500,
    summary: 'A rule fired but its local action (a command published on its MQTT topic) could not be published.',
    hint: 'The alert itself is stored and published; check the action topic and the broker (counted in /v1/stats rules.actionFailures).',
  },
  INFERENCE_ERR_DISABLED: {
    status: 409,
    summary: 'Anomaly inference is switched off (anomaly.enabled is false).',
    hint: 'Set anomaly.enabled to true in the edge config to score readings and load models.',
  },
  INFERENCE_ERR_NO_MODEL: {
    status: 503,
    summary: 'Anomaly inference is on but no model is loaded (the configured model could not be loaded at start).',
    hint: 'GET /v1/model gives the load error; fix anomaly.modelPath or load a model with PUT /v1/model {"path": ...}.',
  },
  INFERENCE_ERR_RUN_FAILED: {
    status: 500,
    summary: 'The anomaly model failed while scoring a batch of readings; those readings were stored unscored.',
    hint: 'Counted in /v1/stats inference.runFailures and logged; if it persists, swap to a known-good model (PUT /v1/model).',
  },

  // --- hub (cloud) ---
  HUB_ERR_NOT_INITIALISED: {
    status: 503,
    summary: 'The hub data directory has not been initialised (no hub identity or admin account).',
    hint: 'Run `cloudos hub init --data-dir DIR` once, then start the hub with the same --data-dir.',
  },
  HUB_ERR_ALREADY_INITIALISED: {
    status: 409,
    summary: 'The hub data directory is already initialised (or holds a half-finished init).',
    hint: 'Start the hub with `cloudos hub --data-dir DIR`; to start over, move the directory away first (this discards the hub identity and accounts).',
  },
  HUB_ERR_TLS_UNREADABLE: {
    status: 500,
    summary: 'The hub\'s TLS files (server certificate, key, CA) cannot be read, do not match each other, or the certificate was not issued by the CA.',
    hint: 'The message names the file. `cloudos hub tls rotate --data-dir DIR` issues a new server certificate under the hub CA; with an operator\'s PKI, check tls.certFile, tls.keyFile and tls.caFile (docs/operations.md).',
  },
  HUB_ERR_IDENTITY_UNREADABLE: {
    status: 500,
    summary: 'The hub identity key files cannot be read or do not match.',
    hint: 'Check hub-identity.json and hub-key.pem in the data directory (owner and mode 0600); restore them from a backup.',
  },
  HUB_ERR_INVALID_REQUEST: {
    status: 400,
    summary: 'The request is malformed or a field is missing or invalid.',
    hint: 'The message names the field; the OpenAPI description at /docs lists what each route accepts.',
  },
  HUB_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'The request body has a content type the route does not accept.',
    hint: 'Send JSON with the header Content-Type: application/json.',
  },
  HUB_ERR_BODY_TOO_LARGE: {
    status: 413,
    summary: 'The request body is larger than the hub accepts (http.bodyLimitBytes).',
    hint: 'Send a smaller body; an operator can raise http.bodyLimitBytes in the hub config.',
  },
  HUB_ERR_NOT_FOUND: {
    status: 404,
    summary: 'No such route or resource on the hub.',
    hint: 'Check the URL and the id; the OpenAPI description at /docs lists the routes.',
  },
  HUB_ERR_CONFLICT: {
    status: 409,
    summary: 'The resource already exists.',
    hint: 'Choose another name, or update the existing resource instead.',
  },
  HUB_ERR_UNAUTHENTICATED: {
    status: 401,
    summary: 'The request has no valid bearer token (missing, unknown or expired).',
    hint: 'Log in with POST /v1/auth/login and send "Authorization: Bearer <token>"; tokens are short-lived, log in again when one expires.',
  },
  HUB_ERR_LOGIN_FAILED: {
    status: 401,
    summary: 'The username, password or one-time code is wrong, or the code was already used.',
    hint: 'Check the credentials and use a fresh code from the authenticator app (each code works once).',
  },
  HUB_ERR_FORBIDDEN: {
    status: 403,
    summary: 'The account\'s role does not allow this action.',
    hint: 'Viewer accounts are read-only; ask an admin to do it or to give you an admin account.',
  },
  HUB_ERR_RATE_LIMITED: {
    status: 429,
    summary: 'Too many requests: login attempts from this client or for this account, requests from this device or address, or enrolments from this address (details.limit names which).',
    hint: 'Wait for the time given in the Retry-After header, then try again; an operator can raise the limits (auth.*, rateLimits.* in the hub config).',
  },
  HUB_ERR_BUSY: {
    status: 503,
    summary: 'The hub is reading as many device request bodies with unchecked signatures as it allows (deviceAuth.maxUnverifiedBodyBytes).',
    hint: 'Retry after the Retry-After seconds (devices back off and retry by themselves); an operator can raise deviceAuth.maxUnverifiedBodyBytes.',
  },
  HUB_ERR_LAST_ADMIN: {
    status: 409,
    summary: 'The last enabled admin account cannot be disabled or deleted (nobody could administer the hub).',
    hint: 'Create or enable another admin account first (POST /v1/users with role admin).',
  },
  HUB_ERR_METRICS_TOKEN_REQUIRED: {
    status: 401,
    summary: 'GET /metrics needs the metrics bearer token configured on this hub (metrics.token), and it was missing or wrong.',
    hint: 'Send "Authorization: Bearer <metrics.token>" (Prometheus: authorization.credentials_file in the scrape config).',
  },
  HUB_ERR_METRICS_LOOPBACK_ONLY: {
    status: 403,
    summary: 'GET /metrics without a configured metrics token answers loopback clients only.',
    hint: 'Scrape from the hub machine, or set metrics.token in the hub config and send it as a bearer token.',
  },
  HUB_ERR_INTERNAL: {
    status: 500,
    summary: 'An unexpected error occurred in the hub while answering the request.',
    hint: 'See the hub log for details; the request can be retried.',
  },
  HUB_ERR_ENROLMENT_TOKEN_INVALID: {
    status: 401,
    summary: 'The enrolment token is not one the hub issued.',
    hint: 'Copy the token exactly as given by POST /v1/enrolment-tokens, or ask an admin for a new one.',
  },
  HUB_ERR_ENROLMENT_TOKEN_USED: {
    status: 409,
    summary: 'The enrolment token was already used to enrol a device (tokens are single use).',
    hint: 'Ask an admin for a new enrolment token for this device.',
  },
  HUB_ERR_ENROLMENT_TOKEN_EXPIRED: {
    status: 401,
    summary: 'The enrolment token has expired.',
    hint: 'Ask an admin for a new enrolment token (POST /v1/enrolment-tokens, ttlSeconds sets its lifetime).',
  },
  HUB_ERR_DEVICE_REQUIREMENTS_UNMET: {
    status: 422,
    summary: 'The device does not meet the hub\'s minimum requirements for enrolment.',
    hint: 'The message names each unmet requirement; upgrade the device or free disk space, or an operator can lower enrolment.minimums in the hub config.',
  },
  HUB_ERR_DEVICE_UNAUTHENTICATED: {
    status: 401,
    summary: 'The device request is not signed, or its signature does not verify with the device\'s enrolled key.',
    hint: 'Sign every request with the device key (x-cloudos-device, -timestamp, -nonce, -signature headers; see docs/hub.md).',
  },
  HUB_ERR_DEVICE_UNKNOWN: {
    status: 401,
    summary: 'The device id in the request is not enrolled on this hub.',
    hint: 'Enrol the device with a fresh enrolment token; check it talks to the hub it enrolled with.',
  },
  HUB_ERR_DEVICE_SIGNATURE_STALE: {
    status: 401,
    summary: 'The device request\'s timestamp is too far from the hub clock.',
    hint: 'Synchronise the device clock (NTP); the hub accepts deviceAuth.maxClockSkewSeconds either way.',
  },
  HUB_ERR_DEVICE_SIGNATURE_REPLAYED: {
    status: 401,
    summary: 'The device request was already received once (same nonce): a replay.',
    hint: 'Sign each request afresh with a new random nonce; never resend a signed request as is.',
  },
  HUB_ERR_DEVICE_REVOKED: {
    status: 403,
    summary: 'The device has been revoked by an admin.',
    hint: 'A revoked device cannot be reinstated; an admin can enrol it again with a new enrolment token.',
  },
  HUB_ERR_ALERT_ALREADY_ACKNOWLEDGED: {
    status: 409,
    summary: 'The alert was already acknowledged (the first acknowledgement stands).',
    hint: 'Nothing to do: details.acknowledgedBy and details.acknowledgedAt say who acknowledged it and when.',
  },
  HUB_ERR_AUDIT_TAMPERED: {
    status: 500,
    summary: 'The audit log does not verify: an entry was altered, removed or reordered, or the signed head does not match.',
    hint: 'Treat the hub data directory as compromised; compare with a backup and investigate from the entry named.',
  },

  // --- telemetry batch codec (shared/telemetry-batch, docs/formats/batch.md) ---
  BATCH_ERR_INVALID_BATCH: {
    status: 400,
    summary: 'A telemetry batch given to the encoder is malformed (sequence not a uint53, timestamps and values of different lengths, an id that is not well-formed text).',
    hint: 'Pass seq as a non-negative safe integer and, per series, Float64Array timestamps and values of equal length with well-formed string ids.',
  },
  BATCH_ERR_TRUNCATED: {
    status: 400,
    summary: 'The telemetry batch ends before its header or its declared payload does (cut off in transit or storage).',
    hint: 'Resend the complete batch; its header states the exact payload length (docs/formats/batch.md).',
  },
  BATCH_ERR_CORRUPT: {
    status: 400,
    summary: 'The telemetry batch is not a valid batch: wrong magic, a reserved field set, trailing bytes, a payload that does not decompress or a body that does not parse.',
    hint: 'Resend the batch from the sender\'s store; if it repeats, the sender and receiver disagree on the format (docs/formats/batch.md).',
  },
  BATCH_ERR_CHECKSUM: {
    status: 400,
    summary: 'The telemetry batch\'s CRC-32 does not match its header and body: bytes were altered in transit or storage.',
    hint: 'Resend the batch from the sender\'s store; nothing of it was accepted.',
  },
  BATCH_ERR_UNKNOWN_VERSION: {
    status: 400,
    summary: 'The telemetry batch has a format version this build does not read.',
    hint: 'Upgrade the receiver, or have the sender encode the version this receiver reads (docs/formats/batch.md, versioning).',
  },
  BATCH_ERR_TOO_LARGE: {
    status: 413,
    summary: 'The telemetry batch declares more decompressed bytes or readings than the receiver accepts (decompression-bomb defence).',
    hint: 'Cut smaller batches at the sender, or raise the receiver\'s limit if the batch is legitimate.',
  },
  BATCH_ERR_UNKNOWN_DICTIONARY: {
    status: 400,
    summary: 'The telemetry batch was compressed with a zstd dictionary the receiver does not have.',
    hint: 'Give the receiver the dictionary with that id (DecodeLimits.dictionaries), or encode without a dictionary.',
  },

  // --- OTA bundles and the edge updater (docs/formats/ota.md, docs/operations.md) ---
  OTA_ERR_BUNDLE_UNREADABLE: {
    status: 400,
    summary: 'The file is not a readable OTA bundle (not zstd-compressed tar, truncated, or entries out of order).',
    hint: 'Build bundles with `cloudos firmware build`; check the file was copied or downloaded completely.',
  },
  OTA_ERR_MANIFEST_INVALID: {
    status: 400,
    summary: 'The bundle manifest is missing, not JSON, or a field is missing or invalid.',
    hint: 'The message names the field; rebuild the bundle with `cloudos firmware build` (docs/formats/ota.md lists the manifest fields).',
  },
  OTA_ERR_UNSIGNED: {
    status: 400,
    summary: 'The bundle carries no signature (manifest.sig is missing).',
    hint: 'Sign the bundle with a release key: `cloudos firmware sign BUNDLE --key release-key.pem`.',
  },
  OTA_ERR_UNTRUSTED_KEY: {
    status: 400,
    summary: 'The bundle is signed by a release key that is not in the trusted keys.',
    hint: 'Sign with a trusted release key, or add its public key to ota.trustedKeys (edge) / the hub\'s trusted release keys.',
  },
  OTA_ERR_BAD_SIGNATURE: {
    status: 400,
    summary: 'The bundle\'s signature does not verify over its manifest: the manifest was altered after signing.',
    hint: 'Do not install it; rebuild and sign the bundle again from the release sources.',
  },
  OTA_ERR_FILE_HASH_MISMATCH: {
    status: 400,
    summary: 'A payload file\'s sha256 differs from the one in the signed manifest.',
    hint: 'The bundle was altered or corrupted; download it again or rebuild it.',
  },
  OTA_ERR_FILE_SIZE_MISMATCH: {
    status: 400,
    summary: 'A payload file\'s size differs from the one in the signed manifest.',
    hint: 'The bundle was altered or corrupted; download it again or rebuild it.',
  },
  OTA_ERR_FILE_UNLISTED: {
    status: 400,
    summary: 'The bundle holds a payload file that the signed manifest does not list, or lists twice.',
    hint: 'The bundle was altered; rebuild it with `cloudos firmware build`.',
  },
  OTA_ERR_FILE_MISSING: {
    status: 400,
    summary: 'A file listed in the signed manifest is missing from the bundle.',
    hint: 'The bundle is truncated or altered; download it again or rebuild it.',
  },
  OTA_ERR_PATH_UNSAFE: {
    status: 400,
    summary: 'A file path in the bundle is absolute, contains `..` or is otherwise unsafe to extract.',
    hint: 'Paths are relative POSIX paths inside the bundle; rebuild it from a plain directory.',
  },
  OTA_ERR_BUNDLE_MIXED: {
    status: 400,
    summary: 'The bundle mixes parts of two bundles: an entry\'s bundle id differs from the signed manifest\'s.',
    hint: 'Do not install it; rebuild the bundle with `cloudos firmware build`.',
  },
  OTA_ERR_BUNDLE_TOO_LARGE: {
    status: 413,
    summary: 'The bundle is larger than declared or than allowed (endless data); reading stopped at the limit.',
    hint: 'Do not install it; if the bundle is genuine, raise the size limit (ota.maxBundleBytes or the hub\'s upload limit).',
  },
  OTA_ERR_ZSTD_WINDOW_TOO_LARGE: {
    status: 413,
    summary: 'A zstd frame of the bundle asks for a window larger than 8 MiB: refused before decompressing it.',
    hint: 'Build bundles with `cloudos firmware build` (zstd levels up to 19, without --long or --ultra).',
  },
  OTA_ERR_TAR_HEADER_TOO_LARGE: {
    status: 413,
    summary: 'A tar entry of the bundle carries an oversized header (name, link name or pax records over 64 KiB).',
    hint: 'Do not install it; bundles from `cloudos firmware build` carry short headers: rebuild it.',
  },
  OTA_ERR_ENTRY_NOT_A_FILE: {
    status: 400,
    summary: 'The bundle holds a tar entry that is not a regular file (a symlink, a hard link, a device or a fifo).',
    hint: 'Do not install it; bundles carry regular files only (`cloudos firmware build` refuses links): rebuild it from a plain directory.',
  },
  OTA_ERR_DOWNGRADE: {
    status: 409,
    summary: 'The bundle\'s version is lower than the installed one (possible rollback attack).',
    hint: 'Release a higher version, or let an admin explicitly allow the downgrade for this rollout.',
  },
  OTA_ERR_VERSION_TOO_OLD: {
    status: 409,
    summary: 'The installed version is older than the bundle\'s minimum version to update from (minFromVersion).',
    hint: 'Install an intermediate release first, as the release notes say.',
  },
  OTA_ERR_EXPIRED: {
    status: 409,
    summary: 'The bundle\'s manifest has expired (expiresAt is past): a stale bundle may be a freeze attack.',
    hint: 'Build and sign the release again with a later expiry (`cloudos firmware build --expires-in`).',
  },
  OTA_ERR_TARGET_MISMATCH: {
    status: 409,
    summary: 'The bundle is for another target (arch, tier or hardware does not match this device).',
    hint: 'Roll out the bundle built for this device\'s arch and tier; `cloudos firmware inspect` shows a bundle\'s target.',
  },
  OTA_ERR_DISK_SPACE: {
    status: 507,
    summary: 'Not enough free disk space or staging budget for the bundle; nothing was downloaded.',
    hint: 'Free space in the data dir or raise ota.stagingBudgetBytes; the updater retries on the next poll.',
  },
  OTA_ERR_DOWNLOAD_FAILED: {
    status: 502,
    summary: 'The bundle download failed or the downloaded file does not match the hub\'s size and sha256.',
    hint: 'The updater resumes the download on the next poll; check the hub is reachable.',
  },
  OTA_ERR_ROTATION_REFUSED: {
    status: 400,
    summary: 'A release key rotation statement was refused: not signed by a currently trusted key, not signed by a key of the new set, its version is not higher than the one in effect (replay), or it is malformed.',
    hint: 'Build it with `cloudos firmware rotate-keys` signed by a key the edge trusts now and by a key of the new set, with a version above the current one (docs/formats/ota.md).',
  },
  OTA_ERR_INSTALL_FAILED: {
    status: 500,
    summary: 'Installing the bundle into the inactive slot (or running the installer hook) failed; the active slot is unchanged.',
    hint: 'The message gives the cause; check disk space and ota.installerHook.',
  },
  OTA_ERR_HEALTH_CHECK_FAILED: {
    status: 500,
    summary: 'The new version did not pass its health check within the trial window; the previous slot was restored.',
    hint: 'The reason names the failed check (process, broker, ingest); fix the release and roll out a new version.',
  },
  OTA_ERR_CRASH_LOOP: {
    status: 500,
    summary: 'The new version crashed repeatedly on start; the supervisor switched back to the previous slot.',
    hint: 'See the supervisor log for the crash output; fix the release and roll out a new version.',
  },
  OTA_ERR_STATE_UNREADABLE: {
    status: 500,
    summary: 'The OTA slot state file (ota/slots.json) is unreadable.',
    hint: 'The supervisor falls back to the slot that holds a runtime; restore the file or remove it to start from the installed runtime.',
  },
  // --- firmware tooling (cloudos firmware) ---
  FIRMWARE_ERR_KEY_UNREADABLE: {
    status: 400,
    summary: 'A release key file cannot be read or is not an Ed25519 key in PEM.',
    hint: 'Create one with `cloudos firmware keygen --out DIR`; pass the private key to sign, the public key to verify.',
  },
  FIRMWARE_ERR_INPUT_INVALID: {
    status: 400,
    summary: 'The input to `cloudos firmware build` is invalid (missing directory, bad version, target or expiry).',
    hint: 'The message names the problem; run `cloudos firmware build --help`.',
  },
  FIRMWARE_ERR_OUTPUT_EXISTS: {
    status: 409,
    summary: 'The output file or key already exists.',
    hint: 'Choose another path, or remove the old file first (keys are never overwritten).',
  },

  // --- OTA releases on the hub ---
  RELEASE_ERR_BUNDLE_TOO_LARGE: {
    status: 413,
    summary: 'The uploaded bundle is larger than ota.maxBundleBytes.',
    hint: 'Build a smaller bundle, or raise ota.maxBundleBytes in the hub config. Nothing was stored.',
  },
  RELEASE_ERR_UPLOAD_INCOMPLETE: {
    status: 400,
    summary: 'The bundle upload ended early (connection closed or fewer bytes than Content-Length).',
    hint: 'Upload the whole file again as the request body with Content-Type: application/octet-stream. Nothing was stored.',
  },
  RELEASE_ERR_INVALID_BUNDLE: {
    status: 422,
    summary: 'The uploaded file is not a readable OTA bundle.',
    hint: 'Build the bundle with `cloudos firmware build` and sign it with `cloudos firmware sign`; check it with `cloudos firmware verify`.',
  },
  RELEASE_ERR_NO_TRUSTED_KEYS: {
    status: 422,
    summary: 'The hub has no trusted release key, so it cannot accept any bundle.',
    hint: 'Start the hub with --release-key FILE.pem (or ota.trustedKeyFiles in the hub config), or add a key with POST /v1/release-keys.',
  },
  RELEASE_ERR_KEY_INVALID: {
    status: 400,
    summary: 'A release key is not an Ed25519 public key in PEM (SPKI) form, or its file cannot be read.',
    hint: 'Use the public key written by `cloudos firmware keygen` (the .pub.pem file), never the private key.',
  },
  RELEASE_ERR_DUPLICATE: {
    status: 409,
    summary: 'A release with the same name and version is already stored.',
    hint: 'Bump the version in the bundle manifest, or delete the old release first (DELETE /v1/releases/:id).',
  },
  RELEASE_ERR_IN_USE: {
    status: 409,
    summary: 'The release is used by a rollout that is running or paused.',
    hint: 'Abort the rollout first (POST /v1/rollouts/:id/abort), then delete the release.',
  },
  RELEASE_ERR_NOT_OFFERED: {
    status: 403,
    summary: 'This release is not offered to the calling device by any of its rollouts.',
    hint: 'A device downloads only what GET /v1/devices/me/ota names; ask an operator to include it in a rollout.',
  },
  RELEASE_ERR_RANGE_NOT_SATISFIABLE: {
    status: 416,
    summary: 'The Range header is not one byte range inside the bundle.',
    hint: 'Send one range, bytes=<first>-[<last>] or bytes=-<suffix>, with first below the bundle size (details.bundleBytes); or drop Range to get the whole file.',
  },
  RELEASE_ERR_BUNDLE_MISSING: {
    status: 500,
    summary: 'The release is recorded but its bundle file is missing from the hub data directory.',
    hint: 'Restore <data-dir>/releases from a backup, or delete the release and upload the bundle again.',
  },
  // --- OTA rollouts on the hub ---
  ROLLOUT_ERR_INVALID_WAVES: {
    status: 400,
    summary: 'The rollout waves are not valid: percentages must rise strictly and the last must be 100.',
    hint: 'For example "waves": [{"percent": 5}, {"percent": 25}, {"percent": 100}]; percentages are cumulative shares of the targeted devices.',
  },
  ROLLOUT_ERR_NO_DEVICES: {
    status: 422,
    summary: 'No active device matches the rollout target (group, labels and the bundle target).',
    hint: 'Check the group name and labels (GET /v1/devices?group=..&label=..) and the bundle target (arch, tier).',
  },
  ROLLOUT_ERR_DEVICE_BUSY: {
    status: 409,
    summary: 'Some targeted devices are already in a rollout that is running or paused.',
    hint: 'Wait for that rollout to finish, or abort it; details.rollouts names them.',
  },
  ROLLOUT_ERR_INVALID_STATE: {
    status: 409,
    summary: 'The rollout is not in a state that allows this action (e.g. resume a rollout that is not paused).',
    hint: 'GET /v1/rollouts/:id shows its state: pause needs running, resume needs paused, abort needs running, paused or halted.',
  },
  ROLLOUT_ERR_NOT_TARGETED: {
    status: 409,
    summary: 'The device report names a rollout or release that does not target this device.',
    hint: 'Report with the rolloutId and releaseId from GET /v1/devices/me/ota.',
  },
  ROLLOUT_ERR_WAVE_NOT_STARTED: {
    status: 409,
    summary: 'The device reported progress for a rollout wave that has not started yet.',
    hint: 'Install only what GET /v1/devices/me/ota offers; the device\'s wave starts when the earlier waves succeed.',
  },
  ROLLOUT_ERR_INVALID_TRANSITION: {
    status: 409,
    summary: 'The device report moves the device backwards or out of a final state (e.g. committed to downloading).',
    hint: 'States go pending, downloading, verifying, installing, trial, committed (steps may be skipped); failed and rolled-back are final. details gives the current state.',
  },

} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof errorCatalogue

/** An error with a stable code from the catalogue, and optional structured details. */
export class CloudosError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly hint: string
  readonly details: Readonly<Record<string, unknown>> | undefined

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    const spec = errorCatalogue[code]
    super(message ?? spec.summary)
    this.name = 'CloudosError'
    this.code = code
    this.status = spec.status
    this.hint = spec.hint
    this.details = details
  }

  /** The JSON body used by the HTTP APIs: `{code, message, hint, details?}`. */
  toJSON(): { code: ErrorCode; message: string; hint: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message, hint: this.hint }
      : { code: this.code, message: this.message, hint: this.hint, details: { ...this.details } }
  }
}

export function isCloudosError(err: unknown): err is CloudosError {
  return err instanceof CloudosError
}
