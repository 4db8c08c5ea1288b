import type { HubIdentity } from '../identity/hub-identity.js'
import type { AuditEntry, AuditRepository } from './audit-repository.js'
import { auditHeadMessage, chainAuditEntry, verifyAuditChain, type AuditDraft, type AuditVerification } from './audit-chain.js'

/** Audit actions recorded by the hub (UC-005). */
export type AuditAction =
  | 'hub.init'
  | 'auth.login'
  | 'auth.token_created'
  | 'auth.logout'
  | 'auth.failures'
  | 'user.create'
  | 'user.sessions_revoked'
  | 'user.disable'
  | 'user.enable'
  | 'user.delete'
  | 'enrolment_token.create'
  | 'device.enrol'
  | 'device.enrol_refused'
  | 'device.revoke'
  | 'device.stream_epoch'
  | 'alert.acknowledge'
  | 'device.labels_set'
  | 'release_key.add'
  | 'release_key.remove'
  | 'release.upload'
  | 'release.upload_refused'
  | 'release.delete'
  | 'rollout.create'
  | 'rollout.wave_started'
  | 'rollout.wave_passed'
  | 'rollout.halted'
  | 'rollout.paused'
  | 'rollout.resumed'
  | 'rollout.aborted'
  | 'rollout.completed'
  | 'rollout.device_outcome'
  | 'config.edit'

/** Appends hash-chained entries and keeps the head signed with the hub key. */
export class AuditLog {
  constructor(
    private readonly repository: AuditRepository,
    private readonly identity: HubIdentity,
    private readonly clock: () => number = Date.now,
    private readonly onAppend: (entry: AuditEntry) => void = () => {},
  ) {}

  async record(action: AuditAction, actor: string, target = '', details: Record<string, unknown> = {}): Promise<AuditEntry> {
    const draft: AuditDraft = { ts: this.clock(), actor, action, target, details }
    const appended = await this.repository.append((previous) => {
      const entry = chainAuditEntry(previous, draft)
      const head = { seq: entry.seq, hash: entry.hash }
      return { entry, head: { ...head, signature: this.identity.sign(auditHeadMessage(head)) } }
    })
    this.onAppend(appended)
    return appended
  }

  async verify(): Promise<AuditVerification> {
    return verifyAuditChain(await this.repository.all(), await this.repository.head(), (message, signature) => this.identity.verify(message, signature))
  }
}
