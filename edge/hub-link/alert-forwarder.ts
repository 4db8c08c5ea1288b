import { alertContentSha256, alertReportOf, alertsExchange } from '../../shared/protocol/alerts.js'
import type { UploadStream } from '../outbox/stream-epochs.js'
import type { AlertStore } from '../store/alert-store.js'
import { HubRequestError, type HubClient } from './hub-client.js'

export interface ForwardResult {
  sent: number
  accepted: number
  duplicates: number
}

/**
 * Sends every alert not yet forwarded, oldest first, in batches of
 * `batchSize`, and marks a batch forwarded only after the hub's 200. Each
 * alert carries its content sha256 and the batch the stream epoch: the hub
 * keys alerts by (device, epoch, seq) and knows them by content, so an alert
 * whose 200 was lost (timeout, crash before marking) is simply sent again and
 * counted there as a duplicate, never shown twice; a seq the hub holds with
 * other content (this database was restored or copied) is 409
 * HUB_ERR_STREAM_CONFLICT: a new epoch starts and the batch goes again.
 * Throws the first other failure (HubRequestError); what was marked stays marked.
 */
export async function forwardPendingAlerts(client: HubClient, alerts: AlertStore, batchSize: number, stream?: UploadStream): Promise<ForwardResult> {
  const result: ForwardResult = { sent: 0, accepted: 0, duplicates: 0 }
  let conflictAt = -1
  for (;;) {
    const batch = alerts.unforwarded(batchSize)
    const first = batch[0]
    const last = batch.at(-1)
    if (first === undefined || last === undefined) return result
    const body = {
      ...(stream === undefined ? {} : { epoch: stream.epoch }),
      alerts: batch.map((alert) => ({ ...alertReportOf(alert), contentSha256: alertContentSha256(alert) })),
    }
    let answer
    try {
      answer = await client.exchange(alertsExchange, body)
    } catch (err) {
      if (stream === undefined || !(err instanceof HubRequestError) || err.hubCode !== 'HUB_ERR_STREAM_CONFLICT' || conflictAt === first.seq) throw err
      conflictAt = first.seq
      stream.conflict({ seq: first.seq, kind: 'alerts', hub: (err.body as { details?: unknown } | undefined)?.details ?? null })
      continue
    }
    alerts.markForwarded(first.seq, last.seq)
    stream?.acknowledged()
    result.sent += batch.length
    result.accepted += answer.accepted
    result.duplicates += answer.duplicates
  }
}
