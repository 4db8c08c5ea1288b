import type { EdgeConfig } from '../../shared/config/edge-config-schema.js'
import type { Outbox } from '../outbox/outbox.js'
import type { EdgeService } from './edge-service.js'

/**
 * The store-and-forward outbox: seals closed windows of readings into
 * batches on its timer, with or without a hub. Owns `outbox`. (Uploading is
 * the hub link's, through `outbox.linkFor`.)
 */
export class OutboxService implements EdgeService {
  readonly name = 'outbox'
  readonly sections = ['outbox'] as const
  readonly outbox: Outbox

  constructor(outbox: Outbox) {
    this.outbox = outbox
  }

  start(): void {
    this.outbox.start()
  }

  stop(): void {
    this.outbox.stop()
  }

  reconfigure(next: EdgeConfig): void {
    this.outbox.reconfigure(next.outbox)
  }
}
