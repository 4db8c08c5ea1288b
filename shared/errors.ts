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
    summary: 'A reading\'s "ts" is not a non-negative integer number of milliseconds since the epoch.',
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

  // --- benchmarks and tooling ---
  BENCH_ERR_SETUP: {
    status: 500,
    summary: 'A benchmark could not set up its processes.',
    hint: 'Read the message; ports may be busy or a required program may be missing.',
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
