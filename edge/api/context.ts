import type { ConfigAgent } from '../config-sync/config-agent.js'
import type { ConfigSyncStatus } from '../config-sync/config-sync-loop.js'
import type { HubLinkStatus } from '../hub-link/hub-link.js'
import type { IngestStats } from '../ingest/ingest-stats.js'
import type { AlertStore } from '../store/alert-store.js'
import type { CountersStore } from '../store/counters-store.js'
import type { DeadLetterStore } from '../store/dead-letter-store.js'
import type { ReadingsStore } from '../store/readings-store.js'
import type { ScoreStore } from '../store/score-store.js'
import type { InferenceStatus } from '../inference/inference-loop.js'
import type { ModelDescriptor } from '../../shared/anomaly/detector.js'
import type { EdgeMetrics } from './metrics.js'

/** What the local API reads from the running edge. */
export interface EdgeApiContext {
  readings: ReadingsStore
  deadLetters: DeadLetterStore
  counters: CountersStore
  alerts: AlertStore
  /** Anomaly scores beside the readings (migration 4). */
  scores: ScoreStore
  /** The inference loop: its status, and model swaps (PUT /v1/model). */
  inference: { status(): InferenceStatus; swap(modelPath: string): Promise<ModelDescriptor> }
  /** Counters of the rules engine and of the alerts it raised. */
  rulesStatus: () => Record<string, number>
  scoreStats: () => Record<string, number>
  /** The link to the fleet hub (`{state: 'disabled'}` without one). */
  hubStatus: () => HubLinkStatus
  stats: IngestStats
  metrics: EdgeMetrics
  queueDepth: () => number
  databaseSizeBytes: () => number
  health: () => EdgeHealth
  /** Config documents and their sync (absent in API tests that do not need them). */
  config?: { agent: ConfigAgent; syncStatus: () => ConfigSyncStatus | { state: 'disabled' } }
}

export interface EdgeHealth {
  status: 'ok' | 'degraded'
  uptimeSeconds: number
  broker: { kind: 'embedded' | 'external'; url: string; connected: boolean; connectedClients: number | null }
  /** Broker limits (mqtt.limits) hit in the last minute: a client is flooding or misbehaving. */
  mqttLimitsHit: string[]
  /** Why the status is "degraded" (empty when "ok"). */
  reasons: string[]
  /** Commits failed since the last success (disk full, I/O error): ingest is stalled. */
  storageFailing: boolean
  hub: HubLinkStatus
}
