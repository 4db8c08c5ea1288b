import { generate } from 'otplib'
import { afterEach, describe, expect, it } from 'vitest'
import type { HubAlertView } from '../../cloud/alerts/hub-alert-routes.js'
import { buildHubApp } from '../../cloud/app.js'
import { resolveHubConfig } from '../../cloud/hub-config.js'
import { build } from '../hub/helper.js'
import { startRealHub, type RealHub } from '../harness/real-hub.js'
import { waitFor } from '../helpers/wait.js'


const INTERVAL_SECONDS = 1

// A real hub on loopback with the real clock and its policy timer running, at a 1 s interval set in the hub config.
describe('compliance policy alerts (periodic evaluator)', () => {
  let hub: RealHub | undefined
  afterEach(async () => {
    await hub?.dispose()
    hub = undefined
  })

  const alertsFor = async (subject: string) => {
    const listed = await (hub as RealHub).get<{ alerts: HubAlertView[] }>('/v1/hub-alerts?source=policy&limit=1000')
    expect(listed.status).toBe(200)
    return listed.body.alerts.filter((a) => a.kind === 'admin-mfa' && a.subject === subject)
  }

  it('raises one alert within the interval for an admin without MFA, keeps it single across ticks, clears it once the admin confirms TOTP', async () => {
    // Plain HTTP (--insecure-http): the transport violation is alerted beside the MFA one.
    hub = await startRealHub({ insecureHttp: true, config: { compliance: { policyCheckSeconds: INTERVAL_SECONDS } } })
    const created = await hub.post<{ otpauthUri: string }>('/v1/users', { username: 'mallory', password: 'mallory password 1', role: 'admin' })
    expect(created.status).toBe(201)
    const createdAt = Date.now()

    const [raised] = await waitFor(async () => {
      const found = await alertsFor('user:mallory')
      return found.length > 0 && found
    }, { timeoutMs: 10_000, what: 'the admin-mfa policy alert for mallory' })
    // Within one interval (plus the evaluation itself), far inside UC-005's 5 minutes.
    expect(Date.now() - createdAt).toBeLessThan(INTERVAL_SECONDS * 1000 + 1500)
    expect(raised).toMatchObject({ source: 'policy', kind: 'admin-mfa', subject: 'user:mallory', severity: 'critical', open: true, clearedAt: null })
    expect(raised?.message).toContain('mallory')

    // Three more ticks: the violation still holds, and it is still one alert.
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_SECONDS * 1000 + 200))
    expect(await alertsFor('user:mallory')).toEqual([raised])

    // Resolved: mallory logs in with a TOTP code; the alert is cleared at the next evaluation, not deleted.
    const secret = new URL(created.body.otpauthUri).searchParams.get('secret') as string
    const login = await fetch(`${hub.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mallory', password: 'mallory password 1', totp: await generate({ secret }) }),
    })
    expect(login.status).toBe(200)
    const [cleared] = await waitFor(async () => {
      const found = await alertsFor('user:mallory')
      return found.length === 1 && found[0]?.open === false && found
    }, { timeoutMs: 10_000, what: 'the alert to clear' })
    expect(cleared).toMatchObject({ id: raised?.id, open: false, clearedAt: expect.any(String) })
    const open = await hub.get<{ alerts: HubAlertView[] }>('/v1/hub-alerts?source=policy&open=true')
    expect(open.body.alerts.map((a) => a.subject)).not.toContain('user:mallory')
    const metrics = await (await fetch(`${hub.url}/metrics`)).text()
    expect(metrics).toMatch(/cloudos_hub_policy_alerts_total\{control="admin-mfa",change="raised"\} [1-9]/)
    expect(metrics).toMatch(/cloudos_hub_policy_alerts_total\{control="admin-mfa",change="cleared"\} [1-9]/)
    // The hub itself serves plain HTTP here (--insecure-http): that violation is alerted too.
    expect(open.body.alerts.map((a) => `${a.kind} ${a.subject}`)).toContain('transport-tls transport')
  })

  it('raises a violation once even when two hub processes on one database evaluate at the same time', async () => {
    const first = await build({ config: { http: { insecureHttp: true } } })
    await first.app.ready()
    // A second hub app on the same data dir and hub.db, as a second hub process would be.
    const second = await buildHubApp({ dataDir: first.dataDir, clock: first.clock, config: { http: { insecureHttp: true } }, livenessTimer: false, rolloutTimer: false, policyTimer: false })
    try {
      for (let round = 0; round < 3; round++) {
        await Promise.all([first.app.policyEvaluator.evaluate(), second.policyEvaluator.evaluate(), first.app.policyEvaluator.evaluate()])
      }
      // The first admin has not logged in yet: one open alert for it, however many evaluations ran.
      const open = await first.app.inject({ url: '/v1/hub-alerts?source=policy&open=true', headers: { authorization: `Bearer ${await first.login(first.admin)}` } })
      const subjects = (open.json() as { alerts: HubAlertView[] }).alerts.map((a) => `${a.kind} ${a.subject}`)
      expect(subjects.filter((s) => s === 'admin-mfa user:admin')).toHaveLength(1)
      expect(subjects.filter((s) => s === 'transport-tls transport')).toHaveLength(1)
    } finally {
      await second.close()
    }
  })

  it('refuses an interval over 300 s (violations must be alerted within 5 minutes)', () => {
    expect(() => resolveHubConfig({ compliance: { policyCheckSeconds: 600 } })).toThrow(/policyCheckSeconds/)
    expect(resolveHubConfig({}).compliance.policyCheckSeconds).toBe(60)
  })
})
