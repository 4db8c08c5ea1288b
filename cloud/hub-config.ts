import { Type, type Static } from '@sinclair/typebox'
import { validateConfig } from '../shared/config/validate.js'

const MiB = 1024 * 1024

/**
 * The hub's configuration: one TypeBox schema gives the type, the defaults and
 * the validation (unknown keys are errors that name the key).
 */
export const HubConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Interface the hub API listens on' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port (0 = any free port)' }),
        bodyLimitBytes: Type.Integer({ default: MiB, minimum: 1024, maximum: 64 * MiB, description: 'Largest request body accepted' }),
        insecureHttp: Type.Boolean({ default: false, description: 'Serve plain HTTP instead of HTTPS (`cloudos hub --insecure-http`): device answers and admin tokens then cross the network unprotected. Only for loopback demos or behind a TLS-terminating proxy on the same host' }),
      },
      { default: {}, additionalProperties: false },
    ),
    tls: Type.Object(
      {
        certFile: Type.Optional(Type.String({ minLength: 1, description: 'Server certificate (PEM, may list intermediates after it); default tls/hub-server.pem in the data dir' })),
        keyFile: Type.Optional(Type.String({ minLength: 1, description: 'Its private key (PEM); default tls/hub-server-key.pem' })),
        caFile: Type.Optional(Type.String({ minLength: 1, description: 'The CA that issued it (PEM): its key pin goes into every enrolment token; default tls/hub-ca.pem' })),
      },
      { default: {}, additionalProperties: false, description: 'The hub\'s HTTPS identity (`cloudos hub init` creates it). Unused with http.insecureHttp' },
    ),
    auth: Type.Object(
      {
        tokenTtlSeconds: Type.Integer({ default: 900, minimum: 30, maximum: 86_400, description: 'Lifetime of an admin bearer token' }),
        loginRateLimitMax: Type.Integer({ default: 10, minimum: 1, maximum: 10_000, description: 'Login attempts allowed per address per window' }),
        loginRateLimitWindowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 86_400, description: 'Login rate-limit window' }),
        totpToleranceSteps: Type.Integer({ default: 1, minimum: 0, maximum: 4, description: 'TOTP steps (30 s) of clock drift accepted either side' }),
      },
      { default: {}, additionalProperties: false },
    ),
    enrolment: Type.Object(
      {
        tokenTtlSeconds: Type.Integer({ default: 86_400, minimum: 60, maximum: 30 * 86_400, description: 'Default lifetime of an enrolment token' }),
        minimums: Type.Object(
          {
            cpuCount: Type.Integer({ default: 1, minimum: 1, description: 'Fewest CPU cores a device may have' }),
            memoryBytes: Type.Integer({ default: 256 * MiB, minimum: 0, description: 'Least total memory' }),
            freeDiskBytes: Type.Integer({ default: 512 * MiB, minimum: 0, description: 'Least free disk in the edge data dir' }),
            runtimeVersion: Type.String({ default: '20.6.0', pattern: '^\\d+\\.\\d+\\.\\d+$', description: 'Oldest Node.js version (x.y.z)' }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    deviceAuth: Type.Object(
      {
        maxClockSkewSeconds: Type.Integer({ default: 300, minimum: 5, maximum: 3600, description: 'How far a signed device request\'s timestamp may be from the hub clock' }),
      },
      { default: {}, additionalProperties: false },
    ),
    fleet: Type.Object(
      {
        heartbeatIntervalSeconds: Type.Integer({ default: 10, minimum: 1, maximum: 3600, description: 'Seconds between device heartbeats (told to devices in each heartbeat answer)' }),
        offlineAfterMissedHeartbeats: Type.Integer({ default: 3, minimum: 1, maximum: 100, description: 'A device is marked offline after this many heartbeat intervals without one' }),
        livenessCheckSeconds: Type.Integer({ default: 5, minimum: 1, maximum: 3600, description: 'How often the hub looks for devices that went silent' }),
        healthHistoryLength: Type.Integer({ default: 1000, minimum: 1, maximum: 100_000, description: 'Heartbeats of health history kept per device (the oldest is overwritten)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    telemetry: Type.Object(
      {
        maxBatchBytes: Type.Integer({ default: 16 * MiB, minimum: 1024, maximum: 256 * MiB, description: 'Largest telemetry batch body accepted (compressed bytes)' }),
        maxDecompressedBytes: Type.Integer({ default: 64 * MiB, minimum: 1024, maximum: 1024 * MiB, description: 'A batch that would inflate past this is refused before it is inflated (decompression bomb)' }),
        maxReadingsPerBatch: Type.Integer({ default: 2_000_000, minimum: 1, maximum: 50_000_000, description: 'Most readings one batch may hold' }),
        maxQueryPoints: Type.Integer({ default: 100_000, minimum: 10, maximum: 10_000_000, description: 'Most raw points or down-sampled buckets one GET /v1/telemetry answers' }),
      },
      { default: {}, additionalProperties: false },
    ),
    ota: Type.Object(
      {
        maxBundleBytes: Type.Integer({ default: 1024 * MiB, minimum: 1024, maximum: 64 * 1024 * MiB, description: 'Largest OTA bundle accepted by POST /v1/releases (streamed to disk, never held in memory)' }),
        trustedKeyFiles: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'Ed25519 release public keys (PEM files) that may sign bundles; more can be added with POST /v1/release-keys' }),
        rolloutCheckSeconds: Type.Integer({ default: 5, minimum: 1, maximum: 3600, description: 'How often the hub re-evaluates running rollouts (device reports also trigger an evaluation)' }),
        healthyAfterSeconds: Type.Integer({ default: 300, minimum: 0, maximum: 7 * 86_400, description: 'Default success criterion: a device counts as healthy this long after it committed, if its heartbeats keep coming' }),
        maxFailureRate: Type.Number({ default: 0.1, minimum: 0, maximum: 1, description: 'Default halt rule: a wave halts the rollout once more than this share of its devices failed' }),
        waveTimeoutSeconds: Type.Integer({ default: 3600, minimum: 1, maximum: 30 * 86_400, description: 'Default time a wave may take; devices not finished by then count as failed' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { default: {}, additionalProperties: false },
)

export type HubConfig = Static<typeof HubConfigSchema>

/** True when the hub serves HTTPS (the default); what the compliance report reads. */
export function hubServesTls(config: HubConfig): boolean {
  return !config.http.insecureHttp
}

/** Validates a (partial) hub config, filling defaults; the result is frozen. */
export function resolveHubConfig(input: unknown = {}, source = 'hub config'): HubConfig {
  return validateConfig(HubConfigSchema, input, source)
}
