import { alertReportOf, alertsExchange } from '../../shared/protocol/alerts.js'
import type { AlertStore } from '../store/alert-store.js'
import type { HubClient } from './hub-client.js'

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
    const answer = await client.exchange(alertsExchange, { alerts: batch.map(alertReportOf) })
    alerts.markForwarded(first.seq, last.seq)
    result.sent += batch.length
    result.accepted += answer.accepted
    result.duplicates += answer.duplicates
  }
}
