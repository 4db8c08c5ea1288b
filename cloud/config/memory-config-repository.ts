import type { ConfigRepository, StoredConfigDocument } from './config-repository.js'
import type { DeviceId } from '../devices/device-repository.js'
import type { ConfigReport } from '../../shared/protocol/config-sync.js'

/** An in-memory ConfigRepository: for the property test and the config benchmark's simulated fleet. */
export class MemoryConfigRepository implements ConfigRepository {
  readonly documents = new Map<string, StoredConfigDocument>()
  readonly syncStates = new Map<string, Uint8Array>()
  readonly reports = new Map<string, { report: ConfigReport; reportedAt: number }>()

  async findDocument(docId: string) {
    return this.documents.get(docId)
  }
  async saveDocument(doc: StoredConfigDocument) {
    this.documents.set(doc.docId, doc)
  }
  async findSyncState(peer: string, docId: string) {
    return this.syncStates.get(`${peer}\u0000${docId}`)
  }
  async saveSyncState(peer: string, docId: string, state: Uint8Array) {
    this.syncStates.set(`${peer}\u0000${docId}`, state)
  }
  async saveReport(deviceId: DeviceId, report: ConfigReport, at: number) {
    this.reports.set(deviceId, { report, reportedAt: at })
  }
  async findReport(deviceId: DeviceId) {
    return this.reports.get(deviceId)
  }
  async reportsWithErrors() {
    return [...this.reports.entries()]
      .filter(([, stored]) => stored.report.errors.length > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([deviceId, stored]) => ({ deviceId: deviceId as DeviceId, ...stored }))
  }
}
