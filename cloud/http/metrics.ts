import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** The hub's Prometheus metrics (prefix `cloudos_hub_`), in a registry of its own. */
export class HubMetrics {
  readonly registry = new Registry()
  readonly httpRequests: Counter<'method' | 'route' | 'status'>
  readonly httpDuration: Histogram<'method' | 'route'>
  readonly logins: Counter<'outcome'>
  readonly auditEntries: Counter
  readonly heartbeats: Counter
  readonly fleetTransitions: Counter<'to'>
  readonly alertsReceived: Counter<'outcome'>
  readonly telemetryBatches: Counter<'outcome'>
  readonly telemetryReadings: Counter
  readonly streamEpochs: Counter<'kind'>
  readonly configEdits: Counter<'kind'>
  readonly configSyncs: Counter
  readonly configRefused: Counter<'code'>
  readonly policyAlerts: Counter<'control' | 'change'>
  readonly rateLimited: Counter<'limit'>
  readonly authFailures: Counter<'kind' | 'code'>
  readonly authFailureSummaries: Counter<'kind'>

  constructor() {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry, prefix: 'cloudos_hub_process_' })
    this.httpRequests = new Counter({
      name: 'cloudos_hub_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.httpDuration = new Histogram({
      name: 'cloudos_hub_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.logins = new Counter({
      name: 'cloudos_hub_logins_total',
      help: 'Admin login attempts, by outcome (ok, failed, rate_limited).',
      labelNames: ['outcome'],
      registers,
    })
    this.auditEntries = new Counter({
      name: 'cloudos_hub_audit_entries_total',
      help: 'Audit log entries appended by this process.',
      registers,
    })
    this.heartbeats = new Counter({
      name: 'cloudos_hub_heartbeats_total',
      help: 'Device heartbeats committed.',
      registers,
    })
    this.fleetTransitions = new Counter({
      name: 'cloudos_hub_fleet_transitions_total',
      help: 'Device liveness transitions, by new status (online, offline).',
      labelNames: ['to'],
      registers,
    })
    this.alertsReceived = new Counter({
      name: 'cloudos_hub_alerts_received_total',
      help: 'Alerts received from devices, by outcome (accepted, duplicate, conflict, hash_mismatch).',
      labelNames: ['outcome'],
      registers,
    })
    this.telemetryBatches = new Counter({
      name: 'cloudos_hub_telemetry_batches_total',
      help: 'Telemetry batches received, by outcome (stored, duplicate, out_of_order, conflict, hash_mismatch, invalid, too_large).',
      labelNames: ['outcome'],
      registers,
    })
    this.streamEpochs = new Counter({
      name: 'cloudos_hub_device_stream_epochs_total',
      help: 'Devices that started uploading under a new stream epoch (their database was restored or copied), by what arrived first (telemetry, alerts).',
      labelNames: ['kind'],
      registers,
    })
    this.telemetryReadings = new Counter({
      name: 'cloudos_hub_telemetry_readings_stored_total',
      help: 'Readings stored from telemetry batches (duplicates not counted).',
      registers,
    })
    this.configEdits = new Counter({
      name: 'cloudos_hub_config_edits_total',
      help: 'Config document edits by operators, by document kind (group, device).',
      labelNames: ['kind'],
      registers,
    })
    this.configSyncs = new Counter({
      name: 'cloudos_hub_config_sync_requests_total',
      help: 'Config sync exchanges answered to devices.',
      registers,
    })
    this.configRefused = new Counter({
      name: 'cloudos_hub_config_refused_total',
      help: 'Config edits and sync messages refused, by error code (CONFIG_ERR_*).',
      labelNames: ['code'],
      registers,
    })
    this.policyAlerts = new Counter({
      name: 'cloudos_hub_policy_alerts_total',
      help: 'Compliance policy alerts raised and cleared, by control (cloud/compliance).',
      labelNames: ['control', 'change'],
      registers,
    })
    this.rateLimited = new Counter({
      name: 'cloudos_hub_rate_limited_total',
      help: 'Requests refused by a limit, by limit: login_client, login_account, device, device_source, enrolment_source (429 HUB_ERR_RATE_LIMITED), unverified_bodies (503 HUB_ERR_BUSY).',
      labelNames: ['limit'],
      registers,
    })
    this.authFailures = new Counter({
      name: 'cloudos_hub_auth_failures_total',
      help: 'Failed authentications, by kind (device, enrolment, login) and error code or login failure reason.',
      labelNames: ['kind', 'code'],
      registers,
    })
    this.authFailureSummaries = new Counter({
      name: 'cloudos_hub_auth_failure_summaries_total',
      help: 'auth.failures audit entries written (one per source per window), by kind.',
      labelNames: ['kind'],
      registers,
    })
  }
}
