import type { HubAlertRecord, HubAlertRepository } from '../alerts/hub-alert-repository.js'
import type { ComplianceService } from './compliance-service.js'

export interface PolicyEvaluation {
  violations: number
  raised: HubAlertRecord[]
  cleared: HubAlertRecord[]
}

/**
 * The periodic policy check (UC-005: "automated policy violations trigger
 * immediate alerts", "compliance violations reported within 5 minutes"):
 * every `compliance.policyCheckSeconds` (60 s by default, 300 at most) it
 * evaluates every control and reconciles the hub's policy alerts with the
 * findings: a new violation raises one alert (kind = control, subject =
 * what violates it), a violation still there raises nothing more, and a
 * resolved one is cleared. Same shape as the fleet liveness timer.
 */
export class PolicyEvaluator {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly compliance: ComplianceService,
    private readonly alerts: HubAlertRepository,
    private readonly clock: () => number,
    private readonly intervalMs: number,
    private readonly onEvaluated: (evaluation: PolicyEvaluation) => void = () => {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** One evaluation now (tests call it instead of waiting for the timer). */
  async evaluate(now = this.clock()): Promise<PolicyEvaluation> {
    const violations = await this.compliance.violations()
    const conditions = violations.map((v) => ({ kind: v.control, subject: v.subject, severity: v.severity, message: v.message }))
    const { raised, cleared } = await this.alerts.reconcile('policy', conditions, now)
    const evaluation = { violations: violations.length, raised, cleared }
    this.onEvaluated(evaluation)
    return evaluation
  }

  start(): void {
    if (this.#timer !== undefined) return
    // One evaluation at start, so a violation present at boot is alerted at once, not after the first interval.
    this.#running = this.evaluate().catch(this.onError)
    this.#timer = setInterval(() => {
      // Never two at once: a slow evaluation (a large audit log) delays the next rather than piling up.
      this.#running = this.#running.then(() => this.evaluate()).catch(this.onError)
    }, this.intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
