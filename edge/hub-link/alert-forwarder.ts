import type { AlertStore, StoredAlert } from '../store/alert-store.js'
import type { HubClient } from './hub-client.js'

/** The hub's answer to a batch of alerts. */
export interface AlertBatchAnswer {
  accepted: number
  duplicates: number
  lastSeq: number
}

export const ALERTS_PATH = '/v1/devices/me/alerts'

/** One alert as the hub takes it (`POST /v1/devices/me/alerts`). */
export const alertWire = (a: StoredAlert) => ({
  seq: a.seq,
  raisedAt: a.raisedAt,
  sensorId: a.sensorId,
  metric: a.metric,
  severity: a.severity,
  rule: a.rule,
  value: a.value,
  message: a.message,
})

export interface ForwardResult {
  sent: number
  accepted: number
  duplicates: number
}

/**
 * Sends every alert not yet forwarded, oldest first, in batches of
 * `batchSize`, and marks a batch forwarded only after the hub's 200. The hub
 * de-duplicates by (device, seq): an alert whose 200 was lost (timeout,
 * crash before marking) is simply sent again and counted there as a
 * duplicate, never shown twice. Throws the first failure (HubRequestError);
 * what was marked stays marked.
 */
export async function forwardPendingAlerts(client: HubClient, alerts: AlertStore, batchSize: number): Promise<ForwardResult> {
  const result: ForwardResult = { sent: 0, accepted: 0, duplicates: 0 }
  for (;;) {
    const batch = alerts.unforwarded(batchSize)
    const first = batch[0]
    const last = batch.at(-1)
    if (first === undefined || last === undefined) return result
    const { body } = await client.post(ALERTS_PATH, { alerts: batch.map(alertWire) })
    const answer = body as Partial<AlertBatchAnswer>
    alerts.markForwarded(first.seq, last.seq)
    result.sent += batch.length
    result.accepted += answer.accepted ?? 0
    result.duplicates += answer.duplicates ?? 0
  }
}
