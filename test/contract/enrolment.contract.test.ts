import { describe, expect, it } from 'vitest'
import { hasDeviceIdentity } from '../../edge/hub-link/device-identity.js'
import { ensureEnrolled } from '../../edge/hub-link/enrolment.js'
import { CloudosError } from '../../shared/errors.js'
import { ENROL_PATH, enrolExchange } from '../../shared/protocol/enrolment.js'
import { expectMatches, quietLogger, startMisbehavingHub, useContractSetup } from './contract-fixture.js'

/** Records the raw JSON answers the pinned transport receives (ensureEnrolled builds its own client). */
function recordingFetch(): { wrap: (pinned: typeof fetch) => typeof fetch; answers: unknown[] } {
  const answers: unknown[] = []
  const wrap = (pinned: typeof fetch): typeof fetch => async (input, init) => {
    const response = await pinned(input, init)
    answers.push(await response.clone().json())
    return response
  }
  return { wrap, answers }
}

describe('contract: enrolment (POST /v1/devices/enroll)', () => {
  const setup = useContractSetup()

  it('the edge enrols with the real hub; the answer matches the shared schema and becomes the stored identity', async () => {
    const { token } = await setup.hub.createEnrolmentToken({ group: 'contract-enrol', tier: 'lite' })
    const recorder = recordingFetch()
    const dataDir = `${setup.tmp.path}/enrol`
    const identity = await ensureEnrolled({ dataDir, hubUrl: setup.hub.url, enrolmentToken: token, timeoutMs: 5000, log: quietLogger(), wrapFetch: recorder.wrap })
    expect(recorder.answers).toHaveLength(1)
    const answer = recorder.answers[0]
    expectMatches(enrolExchange, answer)
    expect(identity).toMatchObject({ ...(answer as object), hubUrl: setup.hub.url })
    expect(identity).toMatchObject({ group: 'contract-enrol', tier: 'lite' })
  })

  it('a hub answering the wrong shape: EDGE_ERR_HUB_ANSWER_INVALID naming the fields, and no identity is stored', async () => {
    const standIn = await startMisbehavingHub([{ method: 'POST', path: ENROL_PATH, status: 201, answer: () => ({ deviceId: 42, group: 'g', hubId: 'h' }) }])
    try {
      const dataDir = `${setup.tmp.path}/enrol-bad`
      const err = await ensureEnrolled({ dataDir, hubUrl: standIn.url, insecureHttp: true, enrolmentToken: 'A'.repeat(43), timeoutMs: 5000, log: quietLogger() }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(CloudosError)
      expect((err as CloudosError).code).toBe('EDGE_ERR_HUB_ANSWER_INVALID')
      expect((err as CloudosError).message).toMatch(/enrolment .*\/deviceId/)
      expect((err as CloudosError).details).toMatchObject({ exchange: 'enrolment', path: ENROL_PATH, status: 201 })
      expect(hasDeviceIdentity(dataDir)).toBe(false)
    } finally {
      await standIn.app.close()
    }
  })
})
