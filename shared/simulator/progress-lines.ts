import type { SimulatorStats } from './simulation-run.js'

/**
 * The human lines `cloudos simulate` prints: a progress line every few
 * seconds and a summary at the end. Pure, so their wording is tested.
 */

/** `previous` is the stats of the last progress line, for the rate over the interval. */
export function formatProgressLine(stats: SimulatorStats, previous?: SimulatorStats): string {
  const intervalMs = stats.elapsedMs - (previous?.elapsedMs ?? 0)
  const intervalReadings = stats.readingsPublished - (previous?.readingsPublished ?? 0)
  const rate = intervalMs > 0 ? (intervalReadings * 1000) / intervalMs : 0
  const parts = [
    `${stats.readingsPublished} published`,
    `${stats.readingsAcked} acked`,
    `${formatRate(rate)} readings/s`,
    `${stats.messagesInFlight} messages in flight`,
  ]
  if (stats.readingsFailed > 0) parts.push(`${stats.readingsFailed} failed`)
  if (!stats.connected) parts.push('DISCONNECTED, retrying')
  if (stats.disconnects > 0) parts.push(`${stats.disconnects} disconnects, ${stats.reconnects} reconnects`)
  return `simulate: ${seconds(stats.elapsedMs)}: ${parts.join(', ')}`
}

export function formatSummaryLine(stats: SimulatorStats): string {
  const unacknowledged = stats.readingsPublished - stats.readingsAcked - stats.readingsFailed
  const parts = [
    `${stats.readingsPublished} readings in ${stats.messagesPublished} messages published`,
    `${stats.readingsAcked} acked`,
    `${stats.readingsFailed} failed`,
    `${unacknowledged} unacknowledged`,
    `${formatRate(stats.readingsPerSecond)} readings/s`,
    `${stats.disconnects} disconnects, ${stats.reconnects} reconnects`,
  ]
  const { spike, stuck, dropout } = stats.anomalies
  if (spike + stuck + dropout > 0) {
    parts.push(`anomalies: ${spike} spikes, ${stuck} stuck, ${dropout} dropouts (${stats.readingsDroppedByDropout} readings not sent)`)
  }
  const why = stats.finished === 'error' ? `failed: ${stats.error ?? 'unknown error'}` : (stats.finished ?? 'running')
  return `simulate: ${why} after ${seconds(stats.elapsedMs)}: ${parts.join(', ')}`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function formatRate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1)
}
