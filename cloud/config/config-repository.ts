import type { ConfigReport } from '../../shared/protocol/config-sync.js'
import type { DeviceId } from '../devices/device-repository.js'

export type ConfigDocKind = 'group' | 'device'

export interface StoredConfigDocument {
  /** `group:<name>` or `device:<deviceId>`. */
  docId: string
  kind: ConfigDocKind
  name: string
  /** Automerge.save() of the document. */
  bytes: Uint8Array
  heads: string[]
  updatedAt: number
}

export interface ConfigRepository {
  findDocument(docId: string): Promise<StoredConfigDocument | undefined>
  saveDocument(doc: StoredConfigDocument): Promise<void>
  /** Automerge.encodeSyncState of this peer for this document, if one was kept. */
  findSyncState(peer: string, docId: string): Promise<Uint8Array | undefined>
  saveSyncState(peer: string, docId: string, state: Uint8Array, at: number): Promise<void>
  saveReport(deviceId: DeviceId, report: ConfigReport, at: number): Promise<void>
  findReport(deviceId: DeviceId): Promise<{ report: ConfigReport; reportedAt: number } | undefined>
  /** Every device's latest report whose `errors` is not empty (what the compliance report lists), by device id. */
  reportsWithErrors(): Promise<{ deviceId: DeviceId; report: ConfigReport; reportedAt: number }[]>
}
