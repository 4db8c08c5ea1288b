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
        trustProxy: Type.Union([Type.Boolean(), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
          default: false,
          description:
            'Fastify trustProxy: false (default) takes the client address from the TCP connection and ignores X-Forwarded-For; a list of proxy addresses or CIDRs (e.g. ["127.0.0.1"]) honours X-Forwarded-For only from those; true trusts any sender (only when nothing but the proxy can reach the hub)',
        }),
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
        loginRateLimitWindowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 86_400, description: 'Login rate-limit window (per client and per account)' }),
        accountLoginFailuresMax: Type.Integer({ default: 10, minimum: 1, maximum: 10_000, description: 'Failed logins allowed per account (username) per window, from all addresses together' }),
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
        maxUnverifiedBodyBytes: Type.Integer({
          default: 64 * MiB,
          minimum: 1024,
          maximum: 4096 * MiB,
          description: 'Most bytes of device request bodies read at once before their signature is checked (503 HUB_ERR_BUSY beyond): bounds what forged requests naming a real device can hold',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    rateLimits: Type.Object(
      {
        windowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: 'Window of the device and enrolment rate limits' }),
        perDevice: Type.Integer({ default: 3000, minimum: 1, maximum: 10_000_000, description: 'Signed requests one device may make per window (counted once its signature verifies)' }),
        perSource: Type.Integer({ default: 12_000, minimum: 1, maximum: 10_000_000, description: 'Requests to device routes one client address may make per window (counted before any check: a site behind one NAT shares it)' }),
        enrolmentPerSource: Type.Integer({ default: 30, minimum: 1, maximum: 1_000_000, description: 'Enrolment requests one client address may make per window' }),
        trackedKeys: Type.Integer({ default: 10_000, minimum: 100, maximum: 1_000_000, description: 'Most devices or addresses each limiter remembers (least recently seen forgotten first): bounds its memory' }),
      },
      { default: {}, additionalProperties: false },
    ),
    authFailures: Type.Object(
      {
        windowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 86_400, description: 'Failed authentications are written to the audit log as one auth.failures entry per source per window' }),
        maxSourcesPerWindow: Type.Integer({ default: 1000, minimum: 1, maximum: 100_000, description: 'Distinct sources tracked per window; failures from further sources are counted under source "(other)"' }),
      },
      { default: {}, additionalProperties: false },
    ),
    metrics: Type.Object(
      {
        token: Type.Optional(
          Type.String({
            minLength: 16,
            maxLength: 512,
            pattern: '^[\\x21-\\x7e]+$',
            description: 'Bearer token GET /metrics requires (Authorization: Bearer <token>); unset, /metrics answers loopback clients only',
          }),
        ),
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
    compliance: Type.Object(
      {
        // UC-005: "compliance violations reported within 5 minutes"; one minute leaves room for a slow evaluation.
        policyCheckSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 300, description: 'How often the hub evaluates the compliance controls and raises or clears policy alerts (at most 300: violations are alerted within 5 minutes)' }),
        maxKeyAgeDays: Type.Integer({ default: 365, minimum: 1, maximum: 3650, description: 'A key (hub identity, release key, device key) older than this fails the key-age control' }),
        outdatedAfterDays: Type.Integer({ default: 30, minimum: 0, maximum: 3650, description: 'A device running an older version than a release uploaded this many days ago is out of date' }),
        failedLoginWindowHours: Type.Integer({ default: 24, minimum: 1, maximum: 24 * 31, description: 'The period the policy evaluator (and a report without --since) counts failed authentications over' }),
        maxFailedLoginsPerSource: Type.Integer({ default: 20, minimum: 1, maximum: 1_000_000, description: 'More failed authentications than this from one source in the period fails the failed-logins control' }),
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
