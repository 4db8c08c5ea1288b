import { canConnect } from '../../shared/net/tcp-ports.js'
import type { OtaConfig } from '../../shared/config/edge-config-schema.js'

/** The endpoints a started edge announces on its ready line. */
export interface ChildEndpoints {
  httpUrl: string
  mqttPort: number | null
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Readings stored so far (GET /v1/stats), for the ingest-flowing check. */
export async function readingsStored(endpoints: ChildEndpoints): Promise<number | undefined> {
  try {
    const { body } = await getJson(`${endpoints.httpUrl}/v1/stats`, 2000)
    return typeof body.stored === 'number' ? body.stored : undefined
  } catch {
    return undefined
  }
}

/**
 * True when /healthz is degraded only because MQTT clients hit the broker's
 * limits: that says what others on the network did, not how the new version
 * runs, and must not let anyone who can flood the broker force a rollback.
 */
function degradedOnlyByClients(body: Record<string, unknown>): boolean {
  const { reasons, mqttLimitsHit } = body
  return body.status === 'degraded' && Array.isArray(reasons) && Array.isArray(mqttLimitsHit) && mqttLimitsHit.length > 0 && reasons.length === mqttLimitsHit.length
}

/**
 * The trial health check, run by the supervisor from outside the new
 * version (a release cannot vouch for itself): /healthz answers 200 "ok",
 * the broker accepts a TCP connection, readings were stored during the
 * window; each as configured. Returns the first failure's reason, or null.
 */
export async function checkTrialHealth(endpoints: ChildEndpoints, checks: OtaConfig['healthCheck'], storedAtStart: number | undefined): Promise<string | null> {
  if (checks.requireHealthz) {
    try {
      const { status, body } = await getJson(`${endpoints.httpUrl}/healthz`, 2000)
      if ((status !== 200 || body.status !== 'ok') && !degradedOnlyByClients(body)) return `GET /healthz answered ${status} ${JSON.stringify(body.status)}`
    } catch (err) {
      return `GET /healthz failed: ${(err as Error).message}`
    }
  }
  if (checks.requireBroker && endpoints.mqttPort !== null) {
    if (!(await canConnect(endpoints.mqttPort))) return `the MQTT broker does not accept connections on port ${endpoints.mqttPort}`
  }
  if (checks.requireIngest) {
    const stored = await readingsStored(endpoints)
    if (stored === undefined || storedAtStart === undefined || stored <= storedAtStart) return `no readings stored during the trial window (${String(storedAtStart)} -> ${String(stored)})`
  }
  return null
}
