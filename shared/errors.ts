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

  EDGE_ERR_BROKER_UNREACHABLE: {
    status: 503,
    summary: 'The edge cannot connect to the external MQTT broker given with --broker.',
    hint: 'Check that the broker runs and listens at that URL, or drop --broker to use the embedded broker.',
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
  CONFIG_ERR_INVALID_VALUE: {
    status: 400,
    summary: 'A config value has the wrong type or is out of range.',
    hint: 'Use a value of the type and range given in the message.',
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

  // --- anomaly models (models/, edge/anomaly) ---
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
    summary: 'Too many requests (login attempts) from this address.',
    hint: 'Wait for the time given in the Retry-After header, then try again.',
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
